"""What a merged organisation leaves on the Account it is merged into.

Organisations with the same name become one Account (the spec's dedupe). The merged organisation's own values
are not dropped: a field the surviving Account leaves empty is filled from it, and a value that differs from the
Account's is written into the Account's Description under "Merged from <name> (<source key>): …". Each such block
is written once (re-runs find it by that line), so a merge is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

LEGACY = "hdm_Legacy_Id__c"
MERGE_KEY = "hdm_Merge_Key__c"
DESCRIPTION = "Description"
DESCRIPTION_MAX = 32000  # Account.Description is a Long Text Area (32,000)
NOT_DATA = frozenset({LEGACY, MERGE_KEY, "Name", "Id", "attributes"})
CUSTOM_PREFIX = "hdm_cf_"


@dataclass
class MergeOutcome:
    changes: dict[str, Any] = field(default_factory=dict)  # Account field → new value
    filled: list[str] = field(default_factory=list)  # fields the merged organisation filled
    noted: list[str] = field(default_factory=list)  # fields whose differing value went into the Description
    truncated: bool = False

    def summary(self) -> str:
        parts = [f"{label(f)} (filled an empty field)" for f in self.filled]
        parts += [f"{label(f)} (differs: kept in Description)" for f in self.noted]
        return ", ".join(parts)


def data_fields(row: dict[str, Any]) -> list[str]:
    """The Account fields a transform row carries values for (meta keys, ids and the name left out)."""
    return [k for k in row if not k.startswith("_") and k not in NOT_DATA]


def label(api_name: str) -> str:
    """A readable name for a field in a Description note: custom fields without their prefix and suffix."""
    if api_name.startswith(CUSTOM_PREFIX) and api_name.endswith("__c"):
        return api_name[len(CUSTOM_PREFIX):-3]
    return api_name


def marker(name: Optional[str], source_key: str) -> str:
    return f"Merged from {name or '(unnamed organisation)'} ({source_key}):"


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    if isinstance(a, (int, float, bool)) or isinstance(b, (int, float, bool)):
        return str(a).strip().lower() == str(b).strip().lower()
    return a == b


def merge_values(survivor: dict[str, Any], merged: dict[str, Any], fields: Optional[list[str]] = None
                 ) -> MergeOutcome:
    """The changes that keep ``merged``'s values on ``survivor`` (neither dict is changed).

    ``fields``: which of ``merged``'s fields to consider (default: all its data fields).
    """
    out = MergeOutcome()
    notes: list[str] = []
    for f in fields if fields is not None else data_fields(merged):
        value = merged.get(f)
        if _empty(value):
            continue
        current = out.changes.get(f, survivor.get(f))
        if _empty(current):
            out.changes[f] = value
            out.filled.append(f)
        elif not _same(current, value):
            notes.append(f"{label(f)}: {value}")
            out.noted.append(f)
    if notes:
        head = marker(merged.get("Name"), merged.get("_source_key") or "?")
        description = out.changes.get(DESCRIPTION, survivor.get(DESCRIPTION)) or ""
        if head not in description:
            block = head + "\n" + "\n".join(notes)
            text = f"{description}\n\n{block}" if description else block
            if len(text) > DESCRIPTION_MAX:
                text = text[: DESCRIPTION_MAX - 1] + "…"
                out.truncated = True
            out.changes[DESCRIPTION] = text
    return out


def fold_group(creator: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, MergeOutcome]:
    """Keep the values of the organisations merged into ``creator``'s Account on ``creator``'s row itself (written
    in the same upsert, so verification reads back what was sent). Returns each merged row's outcome by key."""
    outcomes: dict[str, MergeOutcome] = {}
    for other in others:
        outcome = merge_values(creator, other)
        creator.update(outcome.changes)
        outcomes[other["_source_key"]] = outcome
    return outcomes


def merged_blocks(description: Optional[str]) -> list[str]:
    """The "Merged from …" blocks of an Account's Description (paragraphs starting with a merge marker line)."""
    out = []
    for part in (description or "").split("\n\n"):
        head = part.split("\n", 1)[0]
        if head.startswith("Merged from ") and head.endswith("):"):
            out.append(part)
    return out


def keep_existing_merges(row: dict[str, Any], existing: dict[str, Any]) -> list[str]:
    """A creator's row written again over its Account (a re-run): what earlier merges put on the Account stays —
    its empty fields keep the Account's values and the Description keeps every "Merged from" block. The row is
    changed in place (so verification reads back what is sent); returns the fields it took from the Account."""
    kept = []
    for f in data_fields(row):
        if f != DESCRIPTION and _empty(row.get(f)) and not _empty(existing.get(f)):
            row[f] = existing[f]
            kept.append(f)
    description = row.get(DESCRIPTION) or ""
    for block in merged_blocks(existing.get(DESCRIPTION)):
        if block.split("\n", 1)[0] not in description:
            description = f"{description}\n\n{block}" if description else block
            if DESCRIPTION not in kept:
                kept.append(DESCRIPTION)
    if DESCRIPTION in kept:
        row[DESCRIPTION] = description[:DESCRIPTION_MAX]
    return kept
