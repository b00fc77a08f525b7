"""The destination interface: dependency order, transform, schema preparation, chunk loading,
verification and rollback. The pipeline (hdm.pipeline) drives it; it knows nothing of engines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry
from hdm.model import Record


@dataclass(frozen=True)
class LoadPhase:
    """One step of the destination's dependency order, e.g. "accounts" → "contacts" → "cases"."""

    name: str
    dest_objects: tuple[str, ...]  # what it writes, e.g. ("Case",)
    inputs: tuple[str, ...]  # canonical object types it is made from, e.g. ("ticket",)
    max_concurrency: int = 2  # chunks loaded at once (from the destination's limits)


@dataclass
class RecordOutcome:
    """What happened to one destination-ready row (also written to the crosswalk)."""

    source_key: str
    dest_object: str
    status: str  # "created" | "updated" | "matched" | "unchanged" | "rejected" | "skipped" | "held"
    dest_id: Optional[str] = None
    error_code: Optional[str] = None
    message: Optional[str] = None
    fields: Optional[list[str]] = None  # the fields a rejection names (the org's error)


@dataclass
class ChunkLoadResult:
    phase: str
    chunk_id: str
    outcomes: list[RecordOutcome] = field(default_factory=list)
    api_calls: int = 0
    flags: list[dict[str, Any]] = field(default_factory=list)  # flagged (lossy, merged, orphan …) per source key

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "chunk_id": self.chunk_id,
            "counts": self.counts(),
            "api_calls": self.api_calls,
            "rejected": [o.__dict__ for o in self.outcomes if o.status in ("rejected", "held", "skipped")],
            "flags": self.flags,
        }


class Destination(Protocol):
    name: str

    def phases(self) -> list[LoadPhase]:
        """Load phases in dependency order."""
        ...

    def transform(self, object_type: str, records: Iterable[Record]) -> dict[str, list[dict[str, Any]]]:
        """Canonical records of one extract chunk → destination-ready rows per load phase.

        It may also return ``{"_skipped": [{"_source_key": ..., "reason": ...}]}`` for records it does
        not load on purpose; records neither in a row nor skipped are reported as unmapped.

        Rows are JSON dicts carrying ``_source_key`` and lookups still as source keys (resolved at load
        time through the crosswalk), plus ``_flags`` for the reconciliation report.
        """
        ...

    def fingerprint(self) -> str:
        """Identifies what ``transform`` depends on (mapping version, shaping options): when it changes,
        chunks are transformed (and then loaded) again."""
        ...

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Schema preparation before the first write (custom fields …); returns a report."""
        ...

    def baseline(self) -> dict[str, int]:
        """Record counts per destination object before the migration (rollback must restore them)."""
        ...

    def load_chunk(
        self, phase: str, chunk_id: str, rows: list[dict[str, Any]], crosswalk: Crosswalk,
        migration_id: str, run_id: str,
    ) -> ChunkLoadResult:
        """Load one chunk idempotently, writing crosswalk entries for every row."""
        ...

    def verify_chunk(
        self, phase: str, rows: list[dict[str, Any]], crosswalk: Crosswalk, migration_id: str
    ) -> list[dict[str, Any]]:
        """Read loaded records back; every field whose value differs from its source value, per record."""
        ...

    def rollback(self, entries: list[CrosswalkEntry]) -> list[CrosswalkEntry]:
        """Delete what this migration created (only ``created`` entries); returns the entries rolled back."""
        ...
