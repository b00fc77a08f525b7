"""The generator's truth manifest: what it wrote, computed while writing (never re-queried)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

SPECIAL_CAP = 2000  # ids kept per special case (the count is always exact)


@dataclass
class TicketTruth:
    """What one generated ticket should look like to an extractor."""

    number: str
    subject: str
    status_state: str
    visible_entries: int  # entries of its own 'T' thread without FLAG_HIDDEN (incl. entries merged in)
    hidden_entries: int
    attachments: int  # attachment rows of type 'H' on its visible entries (incl. inline)
    inline_attachments: int
    merged_into: int | None = None
    linked_to: int | None = None
    priority_id: int | None = None  # None: no answer, config default_priority_id applies


@dataclass
class Manifest:
    version: str
    prefix: str
    seed: int
    tables: Counter[str] = field(default_factory=Counter)  # expected rows per table (unprefixed) after generation
    objects: Counter[str] = field(default_factory=Counter)  # expected canonical records per ObjectType value
    special: dict[str, list[Any]] = field(default_factory=dict)  # special-case ids (capped at SPECIAL_CAP)
    special_counts: Counter[str] = field(default_factory=Counter)  # exact number per special case
    tickets: dict[int, TicketTruth] | None = None  # per ticket, kept when tickets <= per_ticket_limit
    notes: dict[str, Any] = field(default_factory=dict)

    def mark(self, case: str, item: Any) -> None:
        self.special_counts[case] += 1
        bucket = self.special.setdefault(case, [])
        if len(bucket) < SPECIAL_CAP:
            bucket.append(item)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tables"] = dict(self.tables)
        data["objects"] = dict(self.objects)
        data["special_counts"] = dict(self.special_counts)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)
