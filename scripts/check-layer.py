#!/usr/bin/env python3
"""Install the hdm layer into an empty folder the way `sam build` does, then import every Lambda handler
(functions/*/app.py) and every module of the hdm package from it, each in a clean interpreter.

What the deployed functions see is stood in for by two folders:
  layer/python  pip install -r layers/hdm/requirements.txt -t …, Lambda's platform and Python, wheels
                only; then the hdm package copied in (the layer's ContentUri is layers/hdm/)
  runtime       boto3 (part of the Lambda runtime) and aws-lambda-powertools (its public layer)
The imports run under `python -I -S` with sys.path = [function dir, layer/python, runtime] + the standard
library: nothing from this machine's site-packages, PYTHONPATH or the working directory can hide a missing
dependency.  Needs PyPI (or pip's cache); no AWS account, no Docker.

    python scripts/check-layer.py [--requirements FILE] [--keep DIR]
Exit status 0 when every import succeeds, 1 otherwise (each failure printed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
RUNTIME_PACKAGES = ["boto3", "aws-lambda-powertools[tracer]"]
PLATFORM = "manylinux2014_x86_64"  # template.yaml: Architectures [x86_64]
# What Lambda sets and what template.yaml's Globals give every function (values are placeholders).
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "layer-check",
    "AWS_ACCESS_KEY_ID": "check", "AWS_SECRET_ACCESS_KEY": "check", "LAMBDA_TASK_ROOT": "/var/task",
    "POWERTOOLS_SERVICE_NAME": "hdm", "POWERTOOLS_METRICS_NAMESPACE": "hdm", "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true", "HDM_CUSTOMER": "check", "HDM_STAGE_BUCKET": "check-bucket",
    "HDM_STAGE_KMS_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/check", "HDM_CROSSWALK_TABLE": "check-cw",
    "HDM_RUNS_TABLE": "check-runs", "HDM_SECRETS_PREFIX": "hdm/check/",
    "HDM_MIGRATION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:hdm-check-migration",
    "HDM_ROLLBACK_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:hdm-check-rollback",
}

# Runs in the clean interpreter: argv = [mode, layer, runtime, function_dir?]
CHILD = r"""
import importlib, pkgutil, sys
mode, layer, runtime = sys.argv[1:4]
fn_dir = sys.argv[4] if len(sys.argv) > 4 else None
sys.path[:0] = [p for p in (fn_dir, layer, runtime) if p]
import hdm
assert hdm.__file__.startswith(layer), f"hdm imported from {hdm.__file__}, not the layer"
if mode == "handler":
    app = importlib.import_module("app")
    assert app.__file__.startswith(fn_dir), app.__file__
    assert callable(getattr(app, "lambda_handler", None)), "no lambda_handler"
    print("ok")
else:
    failed = []
    def unwalkable(name):
        failed.append(f"{name}: the package failed to import, so its modules were not walked")
    names = [m.name for m in pkgutil.walk_packages(hdm.__path__, "hdm.", onerror=unwalkable)]
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # report every module, not only the first
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    for f in failed:
        print("  FAILED", f)
    print(f"imported {len(names) - len(failed)} of {len(names)} hdm modules")
    sys.exit(1 if failed else 0)
"""


def lambda_python() -> str:
    """The Python version of template.yaml's Globals runtime, e.g. "3.13"."""
    match = re.search(r"^\s+Runtime:\s*python(\d+\.\d+)\s*$", TEMPLATE.read_text(encoding="utf-8"), re.M)
    if not match:
        sys.exit("check-layer: no python runtime found in template.yaml")
    return match.group(1)


def pip_install(target: Path, python_version: str, args: list[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
           "--target", str(target), "--platform", PLATFORM, "--implementation", "cp",
           "--python-version", python_version, "--only-binary=:all:", *args]
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=ROOT / "layers" / "hdm" / "requirements.txt")
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)

    version = lambda_python()
    if f"{sys.version_info[0]}.{sys.version_info[1]}" != version:
        print(f"check-layer: this interpreter is {sys.version.split()[0]} but the Lambda runtime is python{version}; "
              "run it with the project's .venv/bin/python", file=sys.stderr)
        return 1
    work = args.keep or Path(tempfile.mkdtemp(prefix="hdm-layer-"))
    layer, runtime = work / "layer" / "python", work / "runtime"
    for folder in (layer, runtime):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    try:
        shown = args.requirements.relative_to(ROOT) if args.requirements.is_relative_to(ROOT) else args.requirements
        print(f"installing {shown} into an empty layer (python{version}, {PLATFORM}, wheels only)")
        pip_install(layer, version, ["-r", str(args.requirements)])
        shutil.copytree(ROOT / "layers" / "hdm" / "hdm", layer / "hdm",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        print(f"installing the runtime's stand-in: {', '.join(RUNTIME_PACKAGES)}")
        pip_install(runtime, version, RUNTIME_PACKAGES)

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LANG": "C.UTF-8",
               "TMPDIR": tempfile.gettempdir(), **LAMBDA_ENV}
        failures = 0

        def child(mode: str, fn_dir: Path | None, label: str) -> None:
            nonlocal failures
            cmd = [sys.executable, "-I", "-S", "-c", CHILD, mode, str(layer), str(runtime)]
            if fn_dir is not None:
                cmd.append(str(fn_dir))
            done = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=300)
            if done.returncode == 0:
                print(f"  ok      {label}: {done.stdout.strip().splitlines()[-1]}")
                return
            failures += 1
            tail = (done.stdout + done.stderr).strip().splitlines()
            print(f"  FAILED  {label}")
            for line in tail[-12:]:
                print(f"          {line}")

        child("modules", None, "every module of hdm (pkgutil.walk_packages)")
        for app in sorted((ROOT / "functions").glob("*/app.py")):
            child("handler", app.parent, f"functions/{app.parent.name}/app.py")
        if failures:
            print(f"check-layer: {failures} import check(s) failed: the layer would not deploy as built")
            return 1
        print("check-layer: every handler and every hdm module imports from the built layer")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
