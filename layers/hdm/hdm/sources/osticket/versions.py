"""Which osTicket release a database is, from ``config.schema_signature`` and from the tables it has.

The signature table is osTicket's own ``include/upgrader/streams/core.sig`` per tag (notes §0).
The schema adapter is chosen from the tables actually present, never from the signature alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

# prefix of schema_signature → release range
SIGNATURES: dict[str, str] = {
    "6de40a4d": "1.8.0",
    "f5692e24": "1.8.1-1.8.12",
    "8f99b8bf": "1.9.0-1.9.3",
    "b26f29a6": "1.9.4-1.9.16",
    "98ad7d55": "1.10",
    "00c949a6": "1.11-1.12",
    "4bd47d94": "1.14",
    "add62892": "1.15",
    "c37e1656": "1.16",
    "83a22ba2": "1.17",
    "5fb92bef": "1.18",
}


class Layout(str, enum.Enum):
    """How the conversation is stored."""

    MODERN = "modern"  # 1.10+: thread + thread_entry, generic attachment, thread_event
    LEGACY = "legacy"  # 1.7-1.9: ticket_thread, ticket_attachment, ticket_event


def version_from_signature(signature: Optional[str]) -> Optional[str]:
    if not signature:
        return None
    sig = signature.strip().lower()
    for prefix, release in SIGNATURES.items():
        if sig.startswith(prefix):
            return release
    return None


@dataclass(frozen=True)
class SchemaFacts:
    """What table probing found (suffixes without the prefix)."""

    tables: frozenset[str]
    ticket_columns: frozenset[str] = frozenset()
    email_account_columns: frozenset[str] = frozenset()


def detect_layout(facts: SchemaFacts) -> Optional[Layout]:
    if {"thread", "thread_entry"} <= facts.tables:
        return Layout.MODERN
    if "ticket_thread" in facts.tables:
        return Layout.LEGACY
    return None


def version_from_tables(facts: SchemaFacts) -> str:
    """The oldest release consistent with the tables and columns present (a floor, e.g. "1.14+")."""
    t = facts.tables
    if "email_account" in t and "email_id" in facts.email_account_columns:
        return "1.17+"
    if "thread_entry_merge" in t or "schedule" in t:
        return "1.14+"
    if "event" in t and "thread_referral" in t:
        return "1.11+"
    if "thread_entry" in t:
        return "1.10+"
    if "ticket_thread" in t:
        if "status_id" in facts.ticket_columns:
            return "1.9.4+"
        if "number" in facts.ticket_columns:
            return "1.9.0+"
        if "user" in t:
            return "1.8+"
        return "1.7+"
    return "unknown"


def resolve_version(signature: Optional[str], facts: SchemaFacts) -> tuple[str, Optional[str]]:
    """(version label, warning): the signature's release when known and consistent, else the table floor."""
    from_tables = version_from_tables(facts)
    from_sig = version_from_signature(signature)
    if from_sig is None:
        why = "schema_signature is missing" if not signature else "schema_signature is not a known release"
        return from_tables, f"{why}; version inferred from tables ({from_tables})"
    layout = detect_layout(facts)
    sig_modern = not from_sig.startswith(("1.8", "1.9"))
    if layout is not None and (layout is Layout.MODERN) != sig_modern:
        return from_tables, f"schema_signature says {from_sig} but the tables say {from_tables}"
    return from_sig, None
