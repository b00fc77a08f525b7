"""Fixtures of the osTicket extractor tests: bare osTicket installs on the session MariaDB, seeded per test."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from osticket_seed import Seeder


@dataclass
class SeededDb:
    database: str
    prefix: str
    version: str
    params: dict[str, Any]  # read-only account
    seed: Seeder  # admin connection, for writing the case
    files_dir: Path

    def source(self, **kwargs: Any):
        from hdm.sources.osticket import OsTicketSource

        return OsTicketSource(dict(self.params), **kwargs)


class MemoryBlobs:
    """A BlobSink keeping staged bytes by sha256 (tests only; the real one is hdm.stage)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.max_piece = 0

    def put_blob(self, chunks):
        digest = hashlib.sha256()
        data = bytearray()
        for piece in chunks:
            self.max_piece = max(self.max_piece, len(piece))
            digest.update(piece)
            data += piece
        sha = digest.hexdigest()
        self.blobs[sha] = bytes(data)
        return f"blobs/{sha}", sha, len(data)


@pytest.fixture
def seeded_db(mariadb, tmp_path) -> Callable[..., SeededDb]:
    made: list[tuple[str, Any]] = []

    def build(version: str = "1.18", prefix: str = "ost_", timezone: str = "UTC") -> SeededDb:
        name = f"ost_case_{secrets.token_hex(4)}"
        mariadb.create_osticket_database(name, version=version, prefix=prefix, timezone=timezone)
        user, password = f"ro_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
        mariadb.create_user(user, password, name, read_only=True)
        admin = mariadb.connect(database=name, init_command="SET SESSION sql_mode=''")
        made.append((name, admin))
        params = {"host": mariadb.host, "port": mariadb.port, "user": user, "password": password, "database": name}
        return SeededDb(name, prefix, version, params, Seeder(admin, prefix, legacy=version.startswith("legacy")),
                        tmp_path)

    yield build
    for name, admin in made:
        admin.close()
        mariadb.drop_database(name)


@pytest.fixture
def blobs() -> MemoryBlobs:
    return MemoryBlobs()
