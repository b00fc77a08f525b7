"""What every phase loader shares: the chunk's result, crosswalk writes and lookups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Optional

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry, Origin, State, content_hash, now_iso
from hdm.destinations.base import ChunkLoadResult, RecordOutcome
from hdm.destinations.intercom.api import IntercomApi


def payload_of(row: dict[str, Any]) -> dict[str, Any]:
    """The Intercom request fields of a row: meta keys (starting with ``_``) and empty values removed (Intercom
    refuses null for most fields; an empty source value leaves the field as it is)."""
    return {k: v for k, v in row.items() if not k.startswith("_") and v is not None}


@dataclass
class Run:
    api: IntercomApi
    crosswalk: Crosswalk
    migration_id: str
    run_id: str
    phase: str
    result: ChunkLoadResult
    # entries that may wait for the next write (a loaded part's entry goes with the next part's pending marker, in
    # one transaction): losing them to a crash only leaves a pending marker, which a re-run resolves by reading back
    _later: list[CrosswalkEntry] = field(default_factory=list)

    def existing(self, keys: Iterable[str]) -> dict[str, list[CrosswalkEntry]]:
        return self.crosswalk.get_many(self.migration_id, list(dict.fromkeys(k for k in keys if k)))

    @staticmethod
    def entry_of(entries: dict[str, list[CrosswalkEntry]], key: str, dest_object: str) -> Optional[CrosswalkEntry]:
        return next((e for e in entries.get(key, []) if e.dest_object == dest_object), None)

    def resolve(self, keys: Iterable[str], dest_object: str) -> dict[str, str]:
        """Destination ids of loaded entries of one destination object, by source key."""
        found = self.existing(keys)
        out: dict[str, str] = {}
        for key, entries in found.items():
            e = next((x for x in entries if x.dest_object == dest_object and x.state == State.LOADED and x.dest_id),
                     None)
            if e is not None:
                out[key] = e.dest_id
        return out

    def state_of(self, keys: Iterable[str], dest_object: str) -> dict[str, CrosswalkEntry]:
        found = self.existing(keys)
        return {k: e for k in found if (e := self.entry_of(found, k, dest_object)) is not None}

    def put(self, key: str, dest_object: str, state: State, origin: Origin = Origin.CREATED,
            dest_id: Optional[str] = None, reason: Optional[str] = None,
            row: Optional[dict[str, Any]] = None) -> CrosswalkEntry:
        entry = self._entry(key, dest_object, state, origin, dest_id, reason, row)
        self.crosswalk.put_many([*self._later, entry])
        self._later.clear()
        return entry

    def put_later(self, key: str, dest_object: str, state: State, origin: Origin = Origin.CREATED,
                  dest_id: Optional[str] = None, reason: Optional[str] = None,
                  row: Optional[dict[str, Any]] = None) -> CrosswalkEntry:
        """Like :meth:`put`, written with the next :meth:`put` or :meth:`flush`: only for entries whose loss leaves
        a pending marker behind (written before the call), never for the marker itself."""
        entry = self._entry(key, dest_object, state, origin, dest_id, reason, row)
        self._later.append(entry)
        return entry

    def flush(self) -> None:
        if self._later:
            self.crosswalk.put_many(list(self._later))
            self._later.clear()

    def _entry(self, key: str, dest_object: str, state: State, origin: Origin, dest_id: Optional[str],
               reason: Optional[str], row: Optional[dict[str, Any]]) -> CrosswalkEntry:
        return CrosswalkEntry(self.migration_id, key, dest_object, self.phase, self.run_id, state, origin, dest_id,
                              content_hash(payload_of(row)) if row is not None else None, reason, now_iso())

    def outcome(self, key: str, dest_object: str, status: str, dest_id: Optional[str] = None,
                error_code: Optional[str] = None, message: Optional[str] = None) -> None:
        self.result.outcomes.append(RecordOutcome(key, dest_object, status, dest_id, error_code, message))

    def flag(self, key: str, code: str, reason: str, field: Optional[str] = None, severity: str = "warning") -> None:
        self.result.flags.append({"source_key": key, "code": code, "reason": reason, "field": field,
                                  "severity": severity})

    def flags(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.result.flags.extend(row.get("_flags") or [])

    def hold(self, key: str, dest_object: str, reason: str, code: str = "HELD",
             origin: Origin = Origin.CREATED) -> None:
        self.outcome(key, dest_object, "held", None, code, reason)
        self.put(key, dest_object, State.HELD, origin, reason=reason)

    def reject(self, key: str, dest_object: str, exc: Exception, dest_id: Optional[str] = None) -> None:
        code = str(getattr(exc, "status", "") or type(exc).__name__)
        message = str(exc)
        self.outcome(key, dest_object, "rejected", dest_id, code, message)
        self.put(key, dest_object, State.REJECTED, Origin.CREATED, dest_id, reason=f"{code}: {message}")
