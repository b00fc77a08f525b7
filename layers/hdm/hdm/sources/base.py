"""The source interface: discover what is there, plan key-range chunks, extract one chunk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from hdm.model import Record


@dataclass(frozen=True)
class ChunkSpec:
    """A key range of one object type, small enough for one Lambda invocation.

    ``lo`` and ``hi`` are inclusive source ids (numeric sources) or opaque cursors.
    """

    object_type: str
    lo: int
    hi: int
    estimated_rows: int = 0

    @property
    def chunk_id(self) -> str:
        return f"{self.object_type}-{self.lo:010d}-{self.hi:010d}"

    def to_dict(self) -> dict[str, Any]:
        return {"object_type": self.object_type, "lo": self.lo, "hi": self.hi, "estimated_rows": self.estimated_rows}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChunkSpec:
        return cls(d["object_type"], int(d["lo"]), int(d["hi"]), int(d.get("estimated_rows", 0)))


@dataclass
class Discovery:
    """What discovery found: counts per object type and the facts a scoping report needs."""

    system: str
    version: str | None
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class BlobSink(Protocol):
    """Where a source streams attachment bytes; returns (stage key, sha256 hex, size)."""

    def put_blob(self, chunks: Iterable[bytes]) -> tuple[str, str, int]: ...


class Source(Protocol):
    system: str

    def discover(self) -> Discovery: ...

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        """Chunks for every object type this source extracts."""
        ...

    def extract(self, chunk: ChunkSpec, blobs: BlobSink | None = None) -> Iterator[Record]:
        """The canonical records of one chunk. Attachment bytes go to ``blobs`` when given."""
        ...

    def close(self) -> None: ...
