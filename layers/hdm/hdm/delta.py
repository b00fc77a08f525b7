"""Delta runs: the optional source capability that lets ``hdm run --delta`` extract only what changed.

A source that can take deltas implements three methods (duck-typed, see :func:`supports_delta`):

``delta_mark() -> dict``
    A high-water mark taken from the SOURCE's own clock and counters (never the machine hdm runs on), as plain
    JSON, at the start of a run, before anything is read. Whatever the source needs to find later what changed
    after it: a server timestamp, the highest id of append-only tables. Only the source reads it back.

``plan_delta(chunk_rows, since, lag_seconds, label) -> list[ChunkSpec]``
    Chunks covering at least every record created or changed after ``since`` (a mark this source produced at an
    earlier run), re-reading a trailing ``lag_seconds`` window for late commits. Over-covering is harmless: the
    destination skips rows whose content hash did not change. Chunk ids must embed ``label`` (unique per delta
    run) so a delta chunk is never taken for a finished chunk of an earlier run.

``live_keys() -> dict[str, set[str]]``
    For hard-delete detection: per object type it can list cheaply, the source keys (``"ticket:42"``) that
    exist now. A key an earlier run loaded that is no longer there was deleted in the source.

A source without these says so: :class:`DeltaNotSupported`, raised before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hdm.pipeline.config import ConfigError
from hdm.sources.base import ChunkSpec, KeyRange


class DeltaError(ConfigError):
    """A delta run that cannot be taken as asked: the command's usage, so it exits like a config error."""

    def __init__(self, message: str):
        self.source, self.problems = "delta", [message]
        ValueError.__init__(self, message)


class DeltaNotSupported(DeltaError):
    """The source cannot take delta runs (it has no ``delta_mark``/``plan_delta``)."""


class NoEarlierRun(DeltaError):
    """``--delta`` without a finished run to take the delta from."""


def supports_delta(source: Any) -> bool:
    return all(callable(getattr(source, name, None)) for name in ("delta_mark", "plan_delta"))


def require_delta(source: Any) -> None:
    if not supports_delta(source):
        system = getattr(source, "system", type(source).__name__)
        raise DeltaNotSupported(f"the {system} source cannot take delta runs (it does not implement delta_mark and "
                                "plan_delta, see hdm/delta.py): run a full migration again instead")


def id_groups(ids: Iterable[int], chunk_rows: int, max_gap: int | None = None) -> list[tuple[int, int, int]]:
    """Sorted ids grouped into inclusive ``(lo, hi, n)`` ranges of at most ``chunk_rows`` ids, a new range
    started when the next id is more than ``max_gap`` (default ``chunk_rows``) above the last one, so a range
    never spans a long stretch of unchanged ids."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    gap = chunk_rows if max_gap is None else max_gap
    out: list[tuple[int, int, int]] = []
    lo = last = None
    n = 0
    for ident in sorted(set(int(i) for i in ids)):
        if lo is not None and (n >= chunk_rows or ident - last > gap):
            out.append((lo, last, n))
            lo, n = None, 0
        if lo is None:
            lo = ident
        last = ident
        n += 1
    if lo is not None:
        out.append((lo, last, n))
    return out


def delta_chunks(object_type: str, ids: Iterable[int], chunk_rows: int, label: str) -> list[ChunkSpec]:
    """Key-range chunks over the changed ``ids`` of one type, named with the delta run's ``label``."""
    return [ChunkSpec(object_type, KeyRange(lo, hi).to_dict(), n,
                      f"{object_type}-{label}-{KeyRange(lo, hi).label()}")
            for lo, hi, n in id_groups(ids, chunk_rows)]


def relabel(chunk: ChunkSpec, label: str) -> ChunkSpec:
    """The same cursor under a chunk id of this delta run (a chunk re-read whole, e.g. a small catalogue)."""
    suffix = chunk.chunk_id[len(chunk.object_type) + 1:] if chunk.chunk_id.startswith(chunk.object_type + "-") \
        else chunk.chunk_id
    return ChunkSpec(chunk.object_type, chunk.cursor, chunk.estimated_rows, f"{chunk.object_type}-{label}-{suffix}")
