"""The crosswalk port.

One entry per destination record that a source record became (a long message can become several
CaseComments: ``message:42#0``, ``message:42#1``). Entries are keyed by (migration id, source key,
destination object). Adapters: SQLite (local engine), DynamoDB (AWS engine); both pass the same
contract tests (tests/integration/pipeline/test_crosswalk_contract.py).
"""

from __future__ import annotations

import abc
import enum
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Optional


class Origin(str, enum.Enum):
    CREATED = "created"  # made by this migration: rollback deletes it
    MATCHED = "matched"  # already existed (a User matched by email, an existing Queue): never touched
    MERGED = "merged"  # points at a record created for another source record (duplicate org names)


class State(str, enum.Enum):
    PENDING = "pending"  # about to be written (the marker that makes non-upsertable inserts idempotent)
    LOADED = "loaded"
    REJECTED = "rejected"  # the destination refused it (reason holds code and message)
    SKIPPED = "skipped"  # deliberately not loaded (reason says why)
    HELD = "held"  # waiting for a person (low-confidence thread, unmatched agent under a blocking policy)
    ROLLED_BACK = "rolled_back"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class CrosswalkEntry:
    migration_id: str
    source_key: str  # "ticket:42", or "message:42#1" for the second part of a split record
    dest_object: str  # the destination object type the record became (a phase's crosswalk object)
    phase: str
    run_id: str
    state: State = State.PENDING
    origin: Origin = Origin.CREATED
    dest_id: Optional[str] = None
    content_hash: Optional[str] = None
    reason: Optional[str] = None
    updated_at: str = field(default_factory=now_iso)

    @property
    def object_type(self) -> str:
        return self.source_key.split(":", 1)[0]

    def to_item(self) -> dict[str, Any]:
        d = dict(self.__dict__)  # every field is a scalar: no deep copy needed (this runs per row)
        d["state"] = self.state.value
        d["origin"] = self.origin.value
        return d

    @classmethod
    def from_item(cls, d: dict[str, Any]) -> CrosswalkEntry:
        known = {k: d.get(k) for k in cls.__dataclass_fields__ if k in d}
        known["state"] = State(known.get("state") or "pending")
        known["origin"] = Origin(known.get("origin") or "created")
        return cls(**known)


class Crosswalk(abc.ABC):
    """Port. All methods are safe to call concurrently from several chunk workers."""

    @abc.abstractmethod
    def put_many(self, entries: Iterable[CrosswalkEntry]) -> None:
        """Insert or replace entries (by migration id, source key, destination object)."""

    @abc.abstractmethod
    def get_many(self, migration_id: str, source_keys: Iterable[str]) -> dict[str, list[CrosswalkEntry]]:
        """Entries per source key (a key absent from the result has none)."""

    @abc.abstractmethod
    def iter_migration(
        self, migration_id: str, phase: Optional[str] = None, state: Optional[State] = None
    ) -> Iterator[CrosswalkEntry]:
        """Every entry of a migration (optionally of one phase / state): for reconciliation and rollback."""

    def delete_migration(self, migration_id: str) -> int:
        """Forget a migration's entries (only after a rollback or on explicit request)."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete migrations")

    # -- shared -------------------------------------------------------------------------------
    def get(self, migration_id: str, source_key: str, dest_object: Optional[str] = None) -> Optional[CrosswalkEntry]:
        for entry in self.get_many(migration_id, [source_key]).get(source_key, []):
            if dest_object is None or entry.dest_object == dest_object:
                return entry
        return None

    def resolve(self, migration_id: str, source_keys: Iterable[str]) -> dict[str, str]:
        """Destination ids of loaded/matched entries, by source key (lookups for parent fields)."""
        out: dict[str, str] = {}
        for skey, entries in self.get_many(migration_id, source_keys).items():
            for e in entries:
                if e.dest_id and e.state == State.LOADED:
                    out[skey] = e.dest_id
                    break
        return out

    def counts(self, migration_id: str, phase: Optional[str] = None) -> Counter:
        """(state, origin) counts, e.g. Counter({("loaded", "created"): 120, ("rejected", "created"): 3})."""
        c: Counter = Counter()
        for e in self.iter_migration(migration_id, phase=phase):
            c[(e.state.value, e.origin.value)] += 1
        return c


def content_hash(payload: Any) -> str:
    """A stable hash of a destination payload, for delta runs (unchanged records are not written again)."""
    import json

    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]
