"""The emulated help desk's data: one SQLite file (`<state_dir>/kayako.sqlite3`, mode 0600).

Every resource is one row ``(rtype, id, parent, body)``: ``rtype`` is Kayako's ``resource_type`` (``case``,
``post``, ``user``, ``case_field`` ...), ``parent`` the owning record for nested collections (a post's case),
``body`` the resource as JSON with its nested resources stored as references ``{"id": n, "resource_type": t}``
(the renderer expands them when a request names their type in ``include=``). Attachment bytes and inline-image
("media") bytes live in their own tables. URLs inside bodies carry the placeholder ``BASE`` (see ``BASE``),
replaced by the server's URL when a response is written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hdm_infra.emulators.kit.state import private_state_dir, touch_private

BASE = "@@KAYAKO_BASE@@"  # replaced by the emulator's base URL in every response
DB_FILE = "kayako.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    rtype TEXT NOT NULL, id INTEGER NOT NULL, parent INTEGER, body TEXT NOT NULL,
    PRIMARY KEY (rtype, id)
);
CREATE INDEX IF NOT EXISTS objects_parent ON objects (rtype, parent, id);
CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, content_type TEXT NOT NULL,
                                  data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS media (token TEXT PRIMARY KEY, content_type TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def ref(rtype: str, rid: int) -> dict[str, Any]:
    """A reference to a nested resource, as Kayako sends it when the type is not in ``include=``."""
    return {"id": rid, "resource_type": rtype}


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"id", "resource_type"}


class Store:
    """Thread-safe access to the SQLite file (one connection, serialised by a lock; reads are short)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = touch_private(private_state_dir(Path(state_dir)) / DB_FILE)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ----- writes (generator, admin) -------------------------------------------------------------------------
    def clear(self) -> None:
        with self.transaction() as db:
            for table in ("objects", "blobs", "media", "meta"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def put_many(self, rows: Iterable[tuple[str, int, int | None, dict[str, Any]]]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO objects (rtype, id, parent, body) VALUES (?, ?, ?, ?)",
                           ((t, i, p, json.dumps(b, ensure_ascii=False)) for t, i, p, b in rows))

    def put_blob(self, blob_id: int, owner: str, content_type: str, data: bytes) -> None:
        """Attachment bytes; ``owner`` is where its URL lives (``case:<id>``, ``article:<id>``)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO blobs (id, owner, content_type, data) VALUES (?, ?, ?, ?)",
                       (blob_id, owner, content_type, data))

    def put_media(self, token: str, content_type: str, data: bytes) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO media (token, content_type, data) VALUES (?, ?, ?)",
                       (token, content_type, data))

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # ----- reads ---------------------------------------------------------------------------------------------
    def get(self, rtype: str, rid: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM objects WHERE rtype = ? AND id = ?", (rtype, rid)).fetchone()
        return json.loads(row[0]) if row else None

    def parent_of(self, rtype: str, rid: int) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT parent FROM objects WHERE rtype = ? AND id = ?", (rtype, rid)).fetchone()
        return row[0] if row else None

    def get_many(self, rtype: str, ids: list[int]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(f"SELECT id, body FROM objects WHERE rtype = ? AND id IN ({marks})",  # noqa: S608
                                        (rtype, *chunk)).fetchall()
            out.update({rid: json.loads(body) for rid, body in rows})
        return out

    def _where(self, rtype: str, parent: int | None) -> tuple[str, tuple[Any, ...]]:
        if parent is None:
            return "rtype = ?", (rtype,)
        return "rtype = ? AND parent = ?", (rtype, parent)

    def max_id(self, rtype: str) -> int:
        with self._lock:
            return self._db.execute("SELECT COALESCE(MAX(id), 0) FROM objects WHERE rtype = ?", (rtype,)).fetchone()[0]

    def count(self, rtype: str, parent: int | None = None) -> int:
        where, args = self._where(rtype, parent)
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM objects WHERE {where}", args).fetchone()[0]  # noqa: S608

    def position(self, rtype: str, parent: int | None, after_id: int) -> int:
        """How many items of the collection (ordered by id) come at or before ``after_id``."""
        where, args = self._where(rtype, parent)
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM objects WHERE {where} AND id <= ?",  # noqa: S608
                                    (*args, after_id)).fetchone()[0]

    def page(self, rtype: str, parent: int | None, offset: int, limit: int) -> list[dict[str, Any]]:
        where, args = self._where(rtype, parent)
        with self._lock:
            rows = self._db.execute(f"SELECT body FROM objects WHERE {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608
                                    (*args, limit, offset)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def blob(self, blob_id: int) -> tuple[str, str, bytes] | None:
        with self._lock:
            row = self._db.execute("SELECT owner, content_type, data FROM blobs WHERE id = ?", (blob_id,)).fetchone()
        return (row[0], row[1], bytes(row[2])) if row else None

    def media(self, token: str) -> tuple[str, bytes] | None:
        with self._lock:
            row = self._db.execute("SELECT content_type, data FROM media WHERE token = ?", (token,)).fetchone()
        return (row[0], bytes(row[1])) if row else None

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT rtype, COUNT(*) FROM objects GROUP BY rtype ORDER BY rtype").fetchall()
            blobs = self._db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0]
            media = self._db.execute("SELECT COUNT(*) FROM media").fetchone()[0]
        return {**dict(rows), "attachment_blobs": blobs, "media": media}
