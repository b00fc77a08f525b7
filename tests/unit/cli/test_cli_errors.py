"""Every CLI command answers a bad config, an unreachable host, refused credentials, AWS errors and a
locked migration with one clear line on stderr and that class's exit status (hdm.exitcodes); no traceback,
and never a secret value."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hdm import exitcodes
from hdm.cli import main

pytestmark = pytest.mark.timeout(120)

LITERAL = "hunter2-Literal-Secret"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, **changes) -> Path:
    import yaml

    doc = {
        "migration_id": "m-cli",
        "source": {"type": "osticket", "host": "127.0.0.1", "port": _closed_port(), "database": "osticket",
                   "user": "reader", "password": "env:HDM_TEST_SOURCE_PASSWORD"},
        "destination": {"type": "salesforce", "login_domain": f"127.0.0.1:{_closed_port()}/login",
                        "username": "u@example.com", "password": "env:HDM_TEST_SF_PASSWORD",
                        "security_token": "env:HDM_TEST_SF_PASSWORD"},
    }
    for section, values in changes.items():
        doc[section].update(values) if isinstance(values, dict) else doc.__setitem__(section, values)
    path = tmp_path / "migration.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _invoke(*args: str, env: dict | None = None):
    result = CliRunner().invoke(main, list(args), env={"HDM_TEST_SOURCE_PASSWORD": "src-pw-Value-1",
                                                       "HDM_TEST_SF_PASSWORD": "sf-pw-Value-2", **(env or {})})
    return result


def _one_line(result) -> str:
    err = result.stderr.strip()
    assert err.count("\n") == 0, err
    assert "Traceback" not in err and "Traceback" not in result.stdout
    return err


@pytest.mark.parametrize("command", [["run"], ["discover"], ["rollback"], ["run", "--engine", "aws",
                                                                          "--api-url", "http://127.0.0.1:9"]])
def test_a_literal_secret_is_refused_without_printing_it(tmp_path, command):
    path = _config(tmp_path, source={"password": LITERAL}, destination={"consumer_secret": LITERAL + "2"})
    result = _invoke(*command, "--config", str(path))
    assert result.exit_code == exitcodes.CONFIG
    line = _one_line(result)
    assert "source.password: must be a secret reference" in line and "destination.consumer_secret" in line
    assert LITERAL not in result.output and LITERAL not in result.stderr


def test_bad_yaml_names_the_place_but_not_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(f"migration_id: m\nsource:\n  password: {LITERAL}: x\n  - a\n")
    result = _invoke("run", "--config", str(path))
    assert result.exit_code == exitcodes.CONFIG
    line = _one_line(result)
    assert "not valid YAML: line 3" in line and LITERAL not in line


@pytest.mark.parametrize("content", ["", "- a\n- b\n", "just text\n", "migration_id: 12\n"])
def test_a_config_that_is_not_a_migration_config_is_a_config_error(tmp_path, content):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    result = _invoke("discover", "--config", str(path))
    assert result.exit_code == exitcodes.CONFIG and "invalid config" in _one_line(result)


def test_a_missing_or_unreadable_config_file(tmp_path):
    result = _invoke("run", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == exitcodes.CONFIG and "does not exist" in _one_line(result)
    (tmp_path / "dir.yaml").mkdir()
    assert _invoke("run", "--config", str(tmp_path / "dir.yaml")).exit_code == exitcodes.CONFIG


def test_unknown_migrations_and_broken_state_are_config_errors(tmp_path):
    result = _invoke("status", "m-none", "--workdir", str(tmp_path))
    assert result.exit_code == exitcodes.CONFIG and "no migration 'm-none'" in _one_line(result)
    assert _invoke("approve", "m-none", "--workdir", str(tmp_path)).exit_code == exitcodes.CONFIG
    assert _invoke("report", "m-none", "--workdir", str(tmp_path)).exit_code == exitcodes.CONFIG
    (tmp_path / "m-broken").mkdir()
    (tmp_path / "m-broken" / "state.json").write_text("{not json")
    result = _invoke("status", "m-broken", "--workdir", str(tmp_path))
    assert result.exit_code == exitcodes.CONFIG and "cannot read" in _one_line(result)


@pytest.mark.parametrize("command", [["discover"], ["run", "--no-progress", "--yes"]])
def test_an_unreachable_source_database_is_one_line_and_status_3(tmp_path, command):
    path = _config(tmp_path)
    result = _invoke(*command, "--config", str(path), *(["--workdir", str(tmp_path / "w")] if "run" in command
                                                         else ["--out", str(tmp_path / "d")]))
    assert result.exit_code == exitcodes.SOURCE, result.output
    line = _one_line(result)
    assert "cannot reach the database server at" in line
    assert "src-pw-Value-1" not in result.output


def test_an_unresolvable_secret_reference_is_a_config_error(tmp_path):
    path = _config(tmp_path, source={"password": "env:HDM_TEST_NOT_SET"})
    result = _invoke("discover", "--config", str(path), "--out", str(tmp_path / "d"))
    assert result.exit_code == exitcodes.CONFIG and "HDM_TEST_NOT_SET is not set" in _one_line(result)


def test_a_locked_migration_is_status_6_naming_the_holder(tmp_path):
    from hdm.engines.local import migration_lock

    path = _config(tmp_path)
    workdir = tmp_path / "w"
    with migration_lock(workdir / "m-cli", "run"):
        result = _invoke("run", "--config", str(path), "--workdir", str(workdir), "--no-progress")
        assert result.exit_code == exitcodes.LOCKED
        assert f"pid {os.getpid()}" in _one_line(result)
        (workdir / "m-cli" / "state.json").write_text("{}")
        assert _invoke("approve", "m-cli", "--workdir", str(workdir)).exit_code == exitcodes.LOCKED
        assert _invoke("rollback", "--config", str(path), "--workdir", str(workdir)).exit_code == exitcodes.LOCKED


def test_aws_engine_without_an_api_url_is_a_usage_error(tmp_path):
    result = _invoke("run", "--engine", "aws", "--config", str(_config(tmp_path)))
    assert result.exit_code == exitcodes.CONFIG and "--api-url" in _one_line(result)


@pytest.mark.parametrize("url", ["not-a-url", "http://127.0.0.1:{port}/v1"])
def test_aws_engine_with_a_bad_or_unreachable_api_url_is_status_5(tmp_path, url):
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1"}
    result = _invoke("run", "--engine", "aws", "--api-url", url.format(port=_closed_port()),
                     "--config", str(_config(tmp_path)), env=env)
    assert result.exit_code == exitcodes.AWS, result.output
    line = _one_line(result)
    assert "trigger API" in line
    result = _invoke("status", "m-cli", "--api-url", url.format(port=_closed_port()), env=env)
    assert result.exit_code == exitcodes.AWS


def _no_aws_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION="us-east-1", HDM_TEST_SOURCE_PASSWORD="x")
    return env


def test_aws_engine_without_credentials_in_a_real_process(tmp_path):
    """Through the installed entry point, as a user runs it: one line, status 5, no traceback."""
    hdm = Path(sys.executable).with_name("hdm")
    proc = subprocess.run([str(hdm), "run", "--engine", "aws", "--api-url", "https://127.0.0.1:9/v1",
                           "--config", str(_config(tmp_path))],
                          env=_no_aws_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == exitcodes.AWS, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "no usable credentials" in proc.stderr


def test_an_unreachable_database_in_a_real_process(tmp_path):
    hdm = Path(sys.executable).with_name("hdm")
    proc = subprocess.run([str(hdm), "discover", "--config", str(_config(tmp_path)), "--out", str(tmp_path / "d")],
                          env=_no_aws_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == exitcodes.SOURCE, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_verbose_adds_frames_but_no_message_text(tmp_path):
    path = _config(tmp_path, source={"password": LITERAL})
    result = CliRunner().invoke(main, ["-v", "discover", "--config", str(path)])
    assert result.exit_code == exitcodes.CONFIG and LITERAL not in result.output + result.stderr


def test_the_help_lists_every_exit_status():
    result = CliRunner().invoke(main, ["--help"])
    for code in exitcodes.ERROR_STATUSES:
        assert f"  {code}  " in result.output


def test_error_lines_never_carry_a_resolved_secret():
    from hdm.errors import classify
    from hdm.pipeline.secrets import resolve_secret

    os.environ["HDM_TEST_REDACT"] = "very-secret-value-42"
    try:
        assert resolve_secret("env:HDM_TEST_REDACT") == "very-secret-value-42"
        code, line = classify(RuntimeError("login failed for very-secret-value-42 at jane@example.com"))
    finally:
        del os.environ["HDM_TEST_REDACT"]
    assert code == exitcodes.INTERNAL
    assert "very-secret-value-42" not in line and "jane@example.com" not in line and "***" in line


def test_aws_errors_and_a_locked_remote_migration_have_their_own_statuses():
    from botocore.exceptions import ClientError, NoCredentialsError
    from hdm.engines.aws import TriggerApiError
    from hdm.errors import classify

    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "GetSecretValue")
    assert classify(denied) == (exitcodes.AWS, "AWS: GetSecretValue refused: AccessDeniedException: not allowed")
    assert classify(NoCredentialsError())[0] == exitcodes.AWS
    locked = TriggerApiError(409, {"message": "migration m is already running", "locked": True})
    assert classify(locked, side="aws") == (exitcodes.LOCKED,
                                            "trigger API answered 409: migration m is already running")
    other = TriggerApiError(409, {"message": "migration m exists with a different config", "locked": False})
    assert classify(other, side="aws")[0] == exitcodes.AWS
    refused = TriggerApiError(422, {"message": "the config names what this stack does not allow: source.host …"})
    assert classify(refused, side="aws")[0] == exitcodes.AWS


def test_a_secret_arn_that_cannot_be_read_is_an_aws_error_not_a_bug():
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
    from hdm.errors import classify

    code, line = classify(GetParameterError("An error occurred (ResourceNotFoundException) when calling "
                                            "GetSecretValue: Secrets Manager can't find the specified secret."))
    assert code == exitcodes.AWS
    assert line.startswith("AWS: cannot read a secret:") and "unexpected" not in line
