"""Per-chunk accounting: rows read, records yielded, records skipped (with why), flags raised."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChunkStats:
    chunk_id: str
    object_type: str
    rows_read: Counter = field(default_factory=Counter)  # per source table
    yielded: Counter = field(default_factory=Counter)  # per canonical type
    skipped: Counter = field(default_factory=Counter)  # per reason, e.g. "hidden_superseded_edit"
    flags: Counter = field(default_factory=Counter)  # per flag code
    bytes_staged: int = 0
    seconds: float = 0.0

    def read(self, table: str, n: int = 1) -> None:
        self.rows_read[table] += n

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "object_type": self.object_type,
            "rows_read": dict(self.rows_read),
            "yielded": dict(self.yielded),
            "skipped": dict(self.skipped),
            "flags": dict(self.flags),
            "bytes_staged": self.bytes_staged,
            "seconds": round(self.seconds, 3),
        }
