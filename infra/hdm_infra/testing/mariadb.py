"""pytest fixtures: one private MariaDB server per test session, and generated osTicket databases on it.

Fixtures
- ``mariadb`` (session): a running :class:`hdm_infra.mariadb.MariaDB`. Started under a pytest temp dir and stopped at
  the end of the session. If env ``HDM_TEST_MARIADB_DIR`` names a folder, the server there is reused (started if
  needed, and then left running for the next session).
- ``osticket_db`` (session): factory ``osticket_db(version="1.18", prefix="ost_", tickets=50, seed=7, **options)``
  returning an :class:`OsticketDb` (read-only credentials + the generator's truth manifest). Identical requests in a
  session return the same database. ``tickets=0`` gives the bare install (schema + install data, no generated rows).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest

from hdm_infra.mariadb import MariaDB


@dataclass(frozen=True)
class OsticketDb:
    """A generated osTicket database and how to reach it read-only."""

    host: str
    port: int
    user: str
    password: str
    database: str
    prefix: str
    version: str
    charset: str
    timezone: str
    files_dir: Path | None  # filesystem-backend ('F') attachment root, <files_dir>/<key[0]>/<key>
    manifest: Any  # hdm_infra.osticket.manifest.Manifest, or None for tickets=0
    ca_file: Path | None = None  # the server's CA, for a connection that verifies it (TLS is on)

    def connect(self, **kwargs: Any) -> pymysql.connections.Connection:
        """Read-only pymysql connection (utf8mb4, SQL_MODE='' as osTicket uses)."""
        params: dict[str, Any] = {"host": self.host, "port": self.port, "user": self.user, "password": self.password,
                                  "database": self.database, "charset": "utf8mb4", "connect_timeout": 10,
                                  "init_command": "SET SESSION sql_mode=''"}
        params.update(kwargs)
        return pymysql.connect(**params)

    def table(self, name: str) -> str:
        """Prefixed table name, e.g. ``db.table("ticket")`` -> ``ost_ticket``."""
        return f"{self.prefix}{name}"


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    shared_dir = os.environ.get("HDM_TEST_MARIADB_DIR")
    if shared_dir:
        yield MariaDB.start(shared_dir)
        return
    server = MariaDB.start(tmp_path_factory.mktemp("mariadb"))
    try:
        yield server
    finally:
        server.stop()


def _cache_key(**request: Any) -> str:
    return hashlib.sha1(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:12]


@pytest.fixture(scope="session")
def osticket_db(mariadb: MariaDB, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., OsticketDb]:
    cache: dict[str, OsticketDb] = {}

    def build(version: str = "1.18", prefix: str = "ost_", tickets: int = 50, seed: int = 7, charset: str = "utf8",
              timezone: str = "UTC", **options: Any) -> OsticketDb:
        key = _cache_key(version=version, prefix=prefix, tickets=tickets, seed=seed, charset=charset,
                         timezone=timezone, **options)
        if key in cache:
            return cache[key]
        database = f"ost_gen_{key}"
        files_dir = tmp_path_factory.mktemp(f"osticket_files_{key}")
        mariadb.create_osticket_database(database, version=version, prefix=prefix, charset=charset, timezone=timezone)
        manifest = None
        if tickets > 0:
            from hdm_infra.osticket.generator import GeneratorOptions, generate

            opts = GeneratorOptions(tickets=tickets, seed=seed, version=version, prefix=prefix, files_dir=files_dir,
                                    **options)
            with mariadb.connect(database=database) as conn:
                manifest = generate(conn, opts)
        user = f"ro_{key[:10]}"
        password = secrets.token_urlsafe(12)
        mariadb.create_user(user, password, database, read_only=True)
        db = OsticketDb(host=mariadb.host, port=mariadb.port, user=user, password=password, database=database,
                        prefix=prefix, version=version, charset=charset, timezone=timezone, files_dir=files_dir,
                        manifest=manifest, ca_file=mariadb.ca_file)
        cache[key] = db
        return db

    return build
