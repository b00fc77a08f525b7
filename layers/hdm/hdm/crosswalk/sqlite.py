"""The crosswalk in SQLite (the embedded engine's default), one file per migration folder."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Optional

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry, Origin, State
from hdm.localfiles import create_private_file, private_dir

_COLUMNS = (
    "migration_id", "source_key", "dest_object", "phase", "run_id", "state", "origin", "dest_id",
    "content_hash", "reason", "updated_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS crosswalk (
  migration_id TEXT NOT NULL,
  source_key   TEXT NOT NULL,
  dest_object  TEXT NOT NULL,
  phase        TEXT NOT NULL,
  run_id       TEXT NOT NULL,
  state        TEXT NOT NULL,
  origin       TEXT NOT NULL,
  dest_id      TEXT,
  content_hash TEXT,
  reason       TEXT,
  updated_at   TEXT NOT NULL,
  PRIMARY KEY (migration_id, source_key, dest_object)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS crosswalk_by_phase ON crosswalk (migration_id, phase, state);
"""


def _row_of(e: CrosswalkEntry) -> tuple:
    """The table row of an entry, in ``_COLUMNS`` order (built directly: this runs once per record written)."""
    return (e.migration_id, e.source_key, e.dest_object, e.phase, e.run_id, State(e.state).value,
            Origin(e.origin).value, e.dest_id, e.content_hash, e.reason, e.updated_at)


def _entry_of(row: tuple) -> CrosswalkEntry:
    """An entry from a table row in ``_COLUMNS`` order."""
    return CrosswalkEntry(row[0], row[1], row[2], row[3], row[4], State(row[5] or "pending"),
                          Origin(row[6] or "created"), row[7], row[8], row[9], row[10])


class SqliteCrosswalk(Crosswalk):
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            private_dir(Path(self.path).parent, tighten=False)
            # mode 0600 before SQLite opens it: its -wal and -shm files take the database file's mode
            create_private_file(self.path)
        self._local = threading.local()
        with self._conn() as conn:
            conn.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def put_many(self, entries: Iterable[CrosswalkEntry]) -> None:
        rows = [_row_of(e) for e in entries]
        if not rows:
            return
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                f"INSERT OR REPLACE INTO crosswalk ({','.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})",
                rows,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def get_many(self, migration_id: str, source_keys: Iterable[str]) -> dict[str, list[CrosswalkEntry]]:
        keys = list(dict.fromkeys(source_keys))
        out: dict[str, list[CrosswalkEntry]] = {}
        conn = self._conn()
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            cur = conn.execute(
                f"SELECT {','.join(_COLUMNS)} FROM crosswalk WHERE migration_id=? AND source_key IN "
                f"({','.join('?' * len(part))})",
                [migration_id, *part],
            )
            for row in cur:
                entry = _entry_of(row)
                out.setdefault(entry.source_key, []).append(entry)
        return out

    def iter_migration(
        self, migration_id: str, phase: Optional[str] = None, state: Optional[State] = None
    ) -> Iterator[CrosswalkEntry]:
        sql = f"SELECT {','.join(_COLUMNS)} FROM crosswalk WHERE migration_id=?"
        args: list = [migration_id]
        if phase is not None:
            sql += " AND phase=?"
            args.append(phase)
        if state is not None:
            sql += " AND state=?"
            args.append(state.value)
        sql += " ORDER BY phase, source_key, dest_object"
        for row in self._conn().execute(sql, args).fetchall():
            yield _entry_of(row)

    def delete_migration(self, migration_id: str) -> int:
        cur = self._conn().execute("DELETE FROM crosswalk WHERE migration_id=?", [migration_id])
        return cur.rowcount
