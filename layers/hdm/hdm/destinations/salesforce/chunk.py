"""What every phase loader shares: the chunk's result, crosswalk writes, lookups through the crosswalk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry, Origin, State, content_hash, now_iso
from hdm.destinations.base import ChunkLoadResult, RecordOutcome
from hdm.destinations.salesforce.api import RowResult, SalesforceApi
from hdm.destinations.salesforce.options import SalesforceOptions


def payload_of(row: dict[str, Any]) -> dict[str, Any]:
    """The Salesforce field values of a row (meta keys starting with ``_`` removed)."""
    return {k: v for k, v in row.items() if not k.startswith("_")}


@dataclass
class ChunkRun:
    api: SalesforceApi
    options: SalesforceOptions
    crosswalk: Crosswalk
    migration_id: str
    run_id: str
    phase: str
    result: ChunkLoadResult

    # -- crosswalk ------------------------------------------------------------------------------
    def existing(self, source_keys: Iterable[str]) -> dict[str, list[CrosswalkEntry]]:
        return self.crosswalk.get_many(self.migration_id, source_keys)

    def entry(self, source_key: str, dest_object: str, state: State, origin: Origin = Origin.CREATED,
              dest_id: Optional[str] = None, reason: Optional[str] = None, row: Optional[dict[str, Any]] = None,
              updated_at: Optional[str] = None, row_hash: Optional[str] = None) -> CrosswalkEntry:
        """One crosswalk entry. A batch passes one ``updated_at`` for all its entries, and ``row_hash`` when it
        already computed the row's content hash (it is computed from ``row`` otherwise)."""
        if row_hash is None and row is not None:
            row_hash = content_hash(payload_of(row))
        return CrosswalkEntry(self.migration_id, source_key, dest_object, self.phase, self.run_id, state, origin,
                              dest_id, row_hash, reason, updated_at or now_iso())

    def resolve(self, source_keys: Iterable[str]) -> dict[str, str]:
        return self.crosswalk.resolve(self.migration_id, [k for k in source_keys if k])

    # -- outcomes -------------------------------------------------------------------------------
    def outcome(self, source_key: str, dest_object: str, status: str, dest_id: Optional[str] = None,
                error_code: Optional[str] = None, message: Optional[str] = None) -> None:
        self.result.outcomes.append(RecordOutcome(source_key, dest_object, status, dest_id, error_code, message))

    def flags(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.result.flags.extend(row.get("_flags") or [])

    def flag(self, source_key: str, code: str, reason: str, field: Optional[str] = None,
             severity: str = "warning") -> None:
        self.result.flags.append({"source_key": source_key, "code": code, "reason": reason, "field": field,
                                  "severity": severity})

    def record(self, row_key: str, dest_object: str, res: RowResult, origin: Origin, row: dict[str, Any],
               prior: Optional[CrosswalkEntry], updated_at: Optional[str] = None) -> CrosswalkEntry:
        """Crosswalk entry + outcome for one write answer (the row's content hash computed once)."""
        row_hash = content_hash(payload_of(row))
        if res.success:
            if res.created:
                status = "created"
            elif prior is not None and prior.state == State.LOADED and prior.content_hash == row_hash:
                status = "unchanged"
            else:
                status = "updated"
            self.outcome(row_key, dest_object, status, res.id)
            return self.entry(row_key, dest_object, State.LOADED, origin, res.id, updated_at=updated_at,
                              row_hash=row_hash)
        reason = f"{res.error_code}: {res.message}" if res.message else str(res.error_code)
        self.outcome(row_key, dest_object, "rejected", res.id, res.error_code, res.message)
        if res.fields:
            self.result.outcomes[-1].fields = list(res.fields)
        return self.entry(row_key, dest_object, State.REJECTED, origin, res.id, reason=reason, updated_at=updated_at,
                          row_hash=row_hash)
