"""The workspace's records: kept in memory (insertion order is list order) and written through to SQLite
(``<state_dir>/workspace.sqlite3``, mode 0600) on every change, so a restarted emulator has the same workspace.

Records are plain JSON-able dicts (the emulator's own shape, rendered to the API's shapes by ``render``), one
dict per kind: admin, team, contact, company, tag, ticket_type, ticket, conversation, note, job, data_attribute.
``next_id(sequence)`` hands out increasing integers per sequence (persisted too). ``add_index(kind, name, keys)``
keeps a secondary index (``keys(doc)`` → the doc's keys) up to date on every put and delete; ``lookup(name, key)``
returns the docs under a key, in insertion order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from hdm_infra.emulators.kit.state import touch_private

KINDS = ("admin", "team", "contact", "company", "tag", "ticket_type", "ticket", "conversation", "note", "job",
         "data_attribute", "delivery")


class Store:
    def __init__(self, path: Path) -> None:
        self.path = touch_private(path)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE IF NOT EXISTS docs (kind TEXT, id TEXT, doc TEXT, PRIMARY KEY (kind, id))")
        self.db.execute("CREATE TABLE IF NOT EXISTS seqs (name TEXT PRIMARY KEY, value INTEGER)")
        self.docs: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        for kind, id_, doc in self.db.execute("SELECT kind, id, doc FROM docs ORDER BY rowid"):
            self.docs.setdefault(kind, {})[id_] = json.loads(doc)
        self.seqs: dict[str, int] = dict(self.db.execute("SELECT name, value FROM seqs"))
        self.indexes: dict[str, tuple[str, Callable[[dict[str, Any]], Iterable[str]]]] = {}
        self._index: dict[str, dict[str, dict[str, None]]] = {}  # name -> key -> ids (an ordered set)
        self._indexed: dict[str, dict[str, list[str]]] = {}  # name -> id -> keys it is filed under

    def add_index(self, kind: str, name: str, keys: Callable[[dict[str, Any]], Iterable[str]]) -> None:
        with self.lock:
            self.indexes[name] = (kind, keys)
            self._index[name], self._indexed[name] = {}, {}
            for doc in self.docs[kind].values():
                self._file(name, doc)

    def lookup(self, name: str, key: str) -> list[dict[str, Any]]:
        kind = self.indexes[name][0]
        return [self.docs[kind][i] for i in self._index[name].get(key, {})]

    def _unfile(self, name: str, id_: str) -> None:
        for key in self._indexed[name].pop(id_, []):
            ids = self._index[name].get(key, {})
            ids.pop(id_, None)
            if not ids:
                self._index[name].pop(key, None)

    def _file(self, name: str, doc: dict[str, Any]) -> None:
        id_ = str(doc["id"])
        self._unfile(name, id_)
        keys = [k for k in dict.fromkeys(self.indexes[name][1](doc)) if k is not None]
        self._indexed[name][id_] = keys
        for key in keys:
            self._index[name].setdefault(key, {})[id_] = None

    def next_id(self, sequence: str, start: int = 1) -> int:
        with self.lock:
            value = max(self.seqs.get(sequence, start - 1) + 1, start)
            self.seqs[sequence] = value
            self.db.execute("INSERT OR REPLACE INTO seqs (name, value) VALUES (?, ?)", (sequence, value))
            return value

    def get(self, kind: str, id_: str) -> dict[str, Any] | None:
        return self.docs[kind].get(str(id_))

    def values(self, kind: str) -> list[dict[str, Any]]:
        return list(self.docs[kind].values())

    def __iter__(self) -> Iterator[str]:
        return iter(self.docs)

    def put(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace ``doc`` (keyed by ``doc["id"]``) and persist it."""
        with self.lock:
            id_ = str(doc["id"])
            self.docs[kind][id_] = doc
            for name, (indexed_kind, _) in self.indexes.items():
                if indexed_kind == kind:
                    self._file(name, doc)
            self.db.execute("INSERT INTO docs (kind, id, doc) VALUES (?, ?, ?) "
                            "ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc", (kind, id_, json.dumps(doc)))
            return doc

    def delete(self, kind: str, id_: str) -> None:
        with self.lock:
            self.docs[kind].pop(str(id_), None)
            for name, (indexed_kind, _) in self.indexes.items():
                if indexed_kind == kind:
                    self._unfile(name, str(id_))
            self.db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, str(id_)))

    def clear(self) -> None:
        with self.lock:
            self.docs = {k: {} for k in KINDS}
            self.seqs = {}
            for name in self.indexes:
                self._index[name], self._indexed[name] = {}, {}
            self.db.execute("DELETE FROM docs")
            self.db.execute("DELETE FROM seqs")

    def counts(self) -> dict[str, int]:
        return {kind: len(docs) for kind, docs in self.docs.items()}

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        with self.lock:
            return {kind: [json.loads(json.dumps(d)) for d in docs.values()] for kind, docs in self.docs.items()}

    def close(self) -> None:
        self.db.close()
