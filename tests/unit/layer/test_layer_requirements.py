"""The hdm layer's dependencies are declared once (layers/hdm/pyproject.toml) and the layer's requirements.txt,
what `sam build` installs, is generated from it. (scripts/check-layer.py, run by scripts/lint-aws.sh, then
installs that file into an empty folder and imports every handler and module from it.)"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LAYER = ROOT / "layers" / "hdm"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _script("layer-requirements")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(lines: list[str]) -> set[str]:
    return {gen.project_name(line) for line in lines if line.strip() and not line.lstrip().startswith("#")}


def _imported_top_levels(root: Path) -> set[str]:
    """Top-level modules imported anywhere under root (also inside functions: lazy imports count)."""
    found: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _third_party_distributions(root: Path) -> dict[str, str]:
    """import name → distribution, for every non-stdlib, non-hdm import under root."""
    by_module = importlib.metadata.packages_distributions()
    out = {}
    for name in sorted(_imported_top_levels(root)):
        if name in sys.stdlib_module_names or name in ("hdm", "__future__"):
            continue
        dists = by_module.get(name)
        assert dists, f"{name} is imported under {root} but no installed distribution provides it"
        out[name] = _norm(dists[0])
    return out


def test_the_committed_requirements_file_is_generated_from_pyproject():
    assert (LAYER / "requirements.txt").read_text(encoding="utf-8") == gen.render(), (
        "layers/hdm/requirements.txt is stale: run python scripts/layer-requirements.py")
    assert gen.main(["--check"]) == 0


def test_every_package_hdm_imports_is_declared_in_pyproject():
    declared = _requirement_names(tomllib.loads((LAYER / "pyproject.toml").read_text())["project"]["dependencies"])
    missing = {imp: dist for imp, dist in _third_party_distributions(LAYER / "hdm").items() if dist not in declared}
    assert not missing, f"imported by hdm but not in layers/hdm/pyproject.toml dependencies: {missing}"


def test_the_layer_gets_everything_the_runtime_does_not_provide():
    data = tomllib.loads((LAYER / "pyproject.toml").read_text())
    provided = {_norm(n) for n in data["tool"]["hdm"]["layer"]["runtime-provided"]}
    assert provided == {"boto3", "botocore", "aws-lambda-powertools"}  # the runtime, and Powertools' public layer
    in_layer = _requirement_names((LAYER / "requirements.txt").read_text().splitlines())
    for imp, dist in _third_party_distributions(LAYER / "hdm").items():
        if dist in provided:
            continue
        assert dist in in_layer, f"hdm imports {imp} ({dist}) but the layer's requirements.txt lacks it"
    assert {"tenacity", "pydantic"} <= in_layer


def test_check_mode_refuses_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "requirements.txt"
    stale.write_text((LAYER / "requirements.txt").read_text().replace("tenacity\n", ""))
    monkeypatch.setattr(gen, "REQUIREMENTS", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert gen.main([]) == 0
    assert stale.read_text() == gen.render()


def test_runtime_provided_must_name_a_declared_dependency(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["requests"]\n[tool.hdm.layer]\nruntime-provided = ["boto3"]\n')
    with pytest.raises(ValueError, match="boto3"):
        gen.render(pyproject)
