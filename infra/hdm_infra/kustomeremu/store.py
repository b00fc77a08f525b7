"""The emulated org's records: JSON:API resource documents kept in SQLite under the state folder, cached in memory.

Every record is stored as the resource object the API answers with (``type``, ``id``, ``attributes``,
``relationships``), minus ``links`` (added per response, they carry the server's paths). Attachment bytes live in
their own table. One lock guards both the cache and the database; the emulator is small and single-org.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hdm_infra.emulators.kit.state import touch_private

DB_FILE = "kustomer.sqlite"

# resource type (as in the JSON:API `type`) -> the collection path segment
COLLECTIONS = {
    "customer": "customers", "conversation": "conversations", "message": "messages", "note": "notes",
    "attachment": "attachments", "company": "companies", "user": "users", "team": "teams", "tag": "tags",
    "shortcut": "shortcuts", "sla": "slas", "sla-version": "slas", "klass": "klasses", "kobject": "kobjects",
    "metadata": "metadata", "workflow": "workflows", "business-rule": "business-rules",
}


def iso(moment: datetime) -> str:
    """Kustomer's timestamp form: UTC, milliseconds, ``Z`` (e.g. ``2024-03-01T10:00:00.000Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp (``Z``, offsets, a space instead of ``T``) as an aware datetime; None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def object_id(seconds: int, serial: int, salt: int = 0) -> str:
    """A 24-hex id shaped like Kustomer's (Mongo ObjectId: 4-byte time, 5-byte machine/salt, 3-byte counter).

    Ids made later (higher ``seconds``, or the same second and a higher ``serial``) sort after earlier ones.
    """
    return f"{seconds & 0xFFFFFFFF:08x}{salt & 0xFFFFFFFFFF:010x}{serial & 0xFFFFFF:06x}"


class Store:
    """Records by type and id, persisted in ``<state_dir>/kustomer.sqlite`` (mode 0600)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = touch_private(Path(state_dir) / DB_FILE)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS records (type TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,"
                        " PRIMARY KEY (type, id))")
        self.db.execute("CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        for type_, id_, doc in self.db.execute("SELECT type, id, doc FROM records"):
            self.records.setdefault(type_, {})[id_] = json.loads(doc)
        self._clock = parse_time(self.get_meta("clock"))
        self.version = 0  # grows on every write: caches derived from the records compare it

    # ----- reading ----------------------------------------------------------------------------------------
    def all(self, type_: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.records.get(type_, {}).values())

    def get(self, type_: str, id_: str) -> dict[str, Any] | None:
        with self.lock:
            return self.records.get(type_, {}).get(id_)

    def counts(self) -> dict[str, int]:
        with self.lock:
            out = {type_: len(rows) for type_, rows in sorted(self.records.items()) if rows}
            names = {k["id"]: k["attributes"]["name"] for k in self.records.get("klass", {}).values()}
            klass_counts: dict[str, int] = {}
            for doc in self.records.get("kobject", {}).values():
                name = names.get(doc["relationships"]["klass"]["data"]["id"], "?")
                klass_counts[name] = klass_counts.get(name, 0) + 1
        if klass_counts:
            out["kobject_by_klass"] = klass_counts  # type: ignore[assignment]
        return out

    def blob(self, id_: str) -> bytes | None:
        with self.lock:
            row = self.db.execute("SELECT data FROM blobs WHERE id = ?", (id_,)).fetchone()
        return bytes(row[0]) if row else None

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # ----- writing ----------------------------------------------------------------------------------------
    def clear(self) -> None:
        with self.lock:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM records")
            self.db.execute("DELETE FROM blobs")
            self.db.execute("DELETE FROM meta")
            self.db.execute("COMMIT")
            self.records = {}
            self._clock = None
            self.version += 1

    def put_many(self, docs: Iterable[dict[str, Any]], blobs: Iterable[tuple[str, bytes]] = ()) -> int:
        """Insert or replace documents (and attachment bytes) in one transaction; returns how many documents."""
        with self.lock:
            self.db.execute("BEGIN")
            try:
                rows = []
                for doc in docs:
                    rows.append((doc["type"], doc["id"], json.dumps(doc, separators=(",", ":"))))
                    self.records.setdefault(doc["type"], {})[doc["id"]] = doc
                n = len(rows)
                self.db.executemany("INSERT OR REPLACE INTO records (type, id, doc) VALUES (?, ?, ?)", rows)
                self.db.executemany("INSERT OR REPLACE INTO blobs (id, data) VALUES (?, ?)", list(blobs))
                self.db.execute("COMMIT")
                self.version += 1
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return n

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def tick(self, now: datetime | None = None) -> datetime:
        """The org's clock for a change: wall time, but strictly after every timestamp the org has handed out."""
        with self.lock:
            moment = now or datetime.now(UTC)
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            if self._clock is not None and moment <= self._clock:
                moment = self._clock + timedelta(milliseconds=1)
            self._clock = moment
            self.set_meta("clock", iso(moment))
            return moment

    def note_time(self, moment: datetime) -> None:
        """Keep the clock at or after ``moment`` (the generator's latest timestamp)."""
        with self.lock:
            if self._clock is None or moment > self._clock:
                self._clock = moment
                self.set_meta("clock", iso(moment))

    def touch(self, type_: str, id_: str) -> dict[str, Any] | None:
        """Record a change to one record now: ``updatedAt``/``modifiedAt`` move to the clock, ``rev`` grows."""
        with self.lock:
            doc = self.get(type_, id_)
            if doc is None:
                return None
            doc = copy.deepcopy(doc)
            stamp = iso(self.tick())
            attrs = doc["attributes"]
            attrs["updatedAt"] = stamp
            if "modifiedAt" in attrs:
                attrs["modifiedAt"] = stamp
            attrs["rev"] = int(attrs.get("rev") or 0) + 1
            self.put_many([doc])
            return doc

    def close(self) -> None:
        with self.lock:
            self.db.close()
