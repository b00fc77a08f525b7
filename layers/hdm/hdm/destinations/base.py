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
    """One load phase of a destination, declared once: the routing of transform outputs, the dispatch to a
    loader, the order (``after``), the concurrency and the rollback order all derive from it.

    ``consumes`` names the transform outputs (``Destination.transform``'s keys) whose rows this phase loads;
    empty means one output named like the phase. ``after`` names the phases whose records this one refers to:
    they load first, and when one of them stops over its rejected share this one does not load."""

    name: str
    dest_objects: tuple[str, ...]  # the destination object types it writes; the first is its crosswalk object
    inputs: tuple[str, ...]  # canonical object types it is made from, e.g. ("ticket",)
    max_concurrency: int = 2  # chunks loaded at once (from the destination's limits)
    after: tuple[str, ...] = ()  # phases that must be loaded first
    consumes: tuple[str, ...] = ()  # transform outputs it loads; () = (name,)
    verified: bool = True  # its records are read back after loading (verify_after_load)
    rolled_back: bool = True  # rollback deletes what it created

    @property
    def outputs(self) -> tuple[str, ...]:
        """The transform outputs this phase loads."""
        return self.consumes or (self.name,)

    @property
    def primary_object(self) -> Optional[str]:
        """The destination object its crosswalk entries are written under."""
        return self.dest_objects[0] if self.dest_objects else None


def _canonical_types() -> set[str]:
    from hdm.model import ObjectType

    return {t.value for t in ObjectType}


class PhaseGraphError(ValueError):
    """A destination's load-phase declaration is inconsistent (a bug in the connector, found before any write)."""


class PhaseGraph:
    """The load phases as a validated DAG: unique names, known ``after``, no cycle, every transform output
    consumed by exactly one phase. :meth:`order` is topological and stable (declaration order breaks ties), so a
    declaration already in dependency order keeps its order."""

    def __init__(self, phases: Iterable[LoadPhase], outputs: Optional[Iterable[str]] = None):
        self.phases: tuple[LoadPhase, ...] = tuple(phases)
        self.by_name: dict[str, LoadPhase] = {}
        for p in self.phases:
            if not p.name:
                raise PhaseGraphError("a load phase has no name")
            if p.name in self.by_name:
                raise PhaseGraphError(f"load phase {p.name!r} is declared twice")
            if p.max_concurrency < 1:
                raise PhaseGraphError(f"load phase {p.name!r}: max_concurrency must be at least 1")
            if not p.dest_objects:
                raise PhaseGraphError(f"load phase {p.name!r} writes no destination object")
            unknown_inputs = sorted(set(p.inputs) - _canonical_types())
            if unknown_inputs:
                raise PhaseGraphError(f"load phase {p.name!r} is made from unknown canonical type(s) "
                                      f"{unknown_inputs} (hdm.model.ObjectType)")
            self.by_name[p.name] = p
        primary: dict[str, str] = {}  # crosswalk object -> the phase that creates records under it
        for p in self.phases:
            obj = p.primary_object or ""
            first = primary.get(obj)
            # a second phase on the same object can only be an update pass over what the first made (it must
            # name it in ``after``); two phases creating under one object would give one source key two entries
            if first is not None and first not in p.after:
                raise PhaseGraphError(f"load phases {first!r} and {p.name!r} share the crosswalk object {obj!r}; "
                                      f"a second phase on it must be an update pass declared after {first!r}")
            primary.setdefault(obj, p.name)
        for p in self.phases:
            unknown = [a for a in p.after if a not in self.by_name]
            if unknown:
                raise PhaseGraphError(f"load phase {p.name!r} comes after unknown phase(s) {unknown}")
            if p.name in p.after:
                raise PhaseGraphError(f"load phase {p.name!r} comes after itself")
        self.consumer: dict[str, str] = {}  # transform output -> the phase that loads it
        for p in self.phases:
            for out in p.outputs:
                if out in self.consumer:
                    raise PhaseGraphError(f"transform output {out!r} is consumed by both {self.consumer[out]!r} "
                                          f"and {p.name!r}")
                self.consumer[out] = p.name
        if outputs is not None:
            unconsumed = sorted(set(outputs) - set(self.consumer))
            if unconsumed:
                raise PhaseGraphError(f"transform output(s) {unconsumed} are consumed by no load phase")
        self._order = self._topological()

    def _topological(self) -> tuple[LoadPhase, ...]:
        index = {p.name: i for i, p in enumerate(self.phases)}
        waiting = {p.name: set(p.after) for p in self.phases}
        done: list[LoadPhase] = []
        while waiting:
            ready = [n for n, deps in waiting.items() if not deps]
            if not ready:
                raise PhaseGraphError(f"load phases form a cycle: {sorted(waiting)}")
            name = min(ready, key=index.__getitem__)  # stable: the earliest declared ready phase first
            done.append(self.by_name[name])
            del waiting[name]
            for deps in waiting.values():
                deps.discard(name)
        return tuple(done)

    def order(self) -> list[LoadPhase]:
        """Dependency order: every phase after the phases it names in ``after``."""
        return list(self._order)

    def names(self) -> list[str]:
        return [p.name for p in self._order]

    def rollback_order(self) -> list[LoadPhase]:
        """Newest first (reverse dependency order), the phases rollback deletes from."""
        return [p for p in reversed(self._order) if p.rolled_back]

    def phase_of_output(self, output: str) -> str:
        """The phase that loads a transform output; :class:`PhaseGraphError` when none does."""
        try:
            return self.consumer[output]
        except KeyError:
            raise PhaseGraphError(f"transform output {output!r} is consumed by no load phase "
                                  f"(declared: {sorted(self.consumer)})") from None

    def dependants(self, name: str) -> list[str]:
        """Every phase that depends on ``name``, directly or not, in dependency order."""
        if name not in self.by_name:
            raise PhaseGraphError(f"unknown load phase {name!r}")
        found: set[str] = set()
        for p in self._order:  # dependency order: a phase's prerequisites are decided before it
            if name in p.after or found.intersection(p.after):
                found.add(p.name)
        return [p.name for p in self._order if p.name in found]


def phase_graph(destination: Any) -> PhaseGraph:
    """The validated graph of a destination's declared load phases."""
    graph = getattr(destination, "phase_graph", None)
    if callable(graph):
        return graph()
    return PhaseGraph(destination.phases())


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
        """The load phases, declared once (:class:`PhaseGraph` validates and orders them)."""
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
