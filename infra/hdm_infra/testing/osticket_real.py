"""pytest fixtures: databases written by the real osTicket application (recorded), loaded into the test MariaDB.

Fixtures
- ``osticket_real_db`` (session): factory ``osticket_real_db(version="1.18")`` returning the same
  :class:`~hdm_infra.testing.mariadb.OsticketDb` shape as ``osticket_db``: read-only credentials to a database loaded
  from ``tests/fixtures/osticket_real/<version>/osticket.sql.gz``. Its ``manifest`` is the recording's
  ``manifest.json`` (a dict: versions, table counts, features per ticket), not a generator truth manifest.

Helpers
- :func:`recorded_versions` lists the recorded versions; :func:`recording_dir` gives a version's folder;
  :func:`load_dump` loads a dump into any database (used by the fixture and by the recorder's own checks).

The recordings are made by ``python -m hdm_infra.osticket_real.record`` (see that module).
"""

from __future__ import annotations

import gzip
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest

from hdm_infra.mariadb import MariaDB
from hdm_infra.testing.mariadb import OsticketDb

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "osticket_real"
DUMP_NAME = "osticket.sql.gz"


def recorded_versions() -> list[str]:
    """Versions with a recorded dump, oldest first (e.g. ["1.16", "1.18"])."""
    if not FIXTURES.is_dir():
        return []
    found = [p.name for p in FIXTURES.iterdir() if (p / DUMP_NAME).is_file()]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".") if x.isdigit()))


def recording_dir(version: str) -> Path:
    path = FIXTURES / version
    if not (path / DUMP_NAME).is_file():
        raise FileNotFoundError(f"no recorded osTicket {version} under {FIXTURES} (have: {recorded_versions()})")
    return path


def recording_manifest(version: str) -> dict[str, Any]:
    return json.loads((recording_dir(version) / "manifest.json").read_text())


def _statements(sql: str) -> list[str]:
    """Split a mysqldump (no routines/triggers, one statement per line group ending in ';') into statements."""
    out: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        if not current and (not line.strip() or line.startswith("--")):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return out


def load_dump(conn: pymysql.connections.Connection, dump: Path) -> int:
    """Run every statement of a gzip'd mysqldump on ``conn`` (its database selected); returns the statement count."""
    sql = gzip.decompress(dump.read_bytes()).decode("utf-8")
    count = 0
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode=''")
        for stmt in _statements(sql):
            cur.execute(stmt)
            count += 1
    conn.commit()
    return count


@pytest.fixture(scope="session")
def osticket_real_db(mariadb: MariaDB) -> Callable[[str], OsticketDb]:
    cache: dict[str, OsticketDb] = {}

    def build(version: str = "1.18") -> OsticketDb:
        if version in cache:
            return cache[version]
        folder = recording_dir(version)
        manifest = recording_manifest(version)
        database = "ost_real_" + version.replace(".", "_")
        mariadb.create_database(database, charset="utf8")
        with mariadb.connect(database=database, autocommit=False) as conn:
            load_dump(conn, folder / DUMP_NAME)
        user = "ro_real_" + version.replace(".", "_")
        password = secrets.token_urlsafe(12)
        mariadb.create_user(user, password, database, read_only=True)
        db = OsticketDb(host=mariadb.host, port=mariadb.port, user=user, password=password, database=database,
                        prefix=manifest.get("table_prefix", "ost_"), version=version, charset="utf8",
                        timezone=manifest.get("timezone", "UTC"), files_dir=None, manifest=manifest)
        cache[version] = db
        return db

    return build
