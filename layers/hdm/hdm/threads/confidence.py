"""How far a split thread can be trusted, and whether a ticket is held back from loading.

Every reason costs a share of the confidence (its ``penalty``); the score is the product of what is
left, so one serious doubt or many small ones both bring a ticket below the threshold. Tickets below
the threshold are flagged and held until a person approves them on the review page.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Optional

from hdm.model import Record

DEFAULT_THRESHOLD = 0.8

# code → (penalty, what it means); one table so the report and the review page explain the same way
REASONS: dict[str, tuple[float, str]] = {
    "no_thread_container": (0.5, "the page has no thread container of the expected kind"),
    "loose_markup": (0.3, "entries found only outside the expected containers"),
    "no_entries": (1.0, "no thread entry found on the page"),
    "unparseable_entry": (0.5, "an entry wrapper holds no readable entry"),
    "unknown_entry_class": (0.6, "an entry has no known kind class (treated as internal)"),
    "conflicting_entry_class": (0.6, "an entry carries several kind classes (treated as internal)"),
    "unknown_class": (0.1, "an entry carries a class osTicket does not print"),
    "note_on_portal": (0.5, "a note class on a client portal page"),
    "system_on_portal": (0.3, "a system class on a client portal page"),
    "missing_timestamp": (0.3, "an entry has no time[datetime] (or it cannot be read)"),
    "timestamp_without_offset": (0.1, "print view times carry no offset and no display timezone was given"),
    "timestamp_minute_precision": (0.0, "print view times have minutes only"),
    "missing_author": (0.2, "an entry has no author name"),
    "missing_body": (0.5, "an entry has no body element"),
    "duplicate_entry_id": (0.5, "two entries carry the same id"),
    "count_mismatch": (0.5, "the number of entries differs from the expected count"),
    "version_markup_mismatch": (0.05, "the markup does not match the stated osTicket version"),
    "unknown_event": (0.02, "an event with an unknown icon"),
    "out_of_order": (0.0, "entries were not in time order on the page (re-ordered)"),
    "text_format_inferred": (0.0, "a plain-text body recognised by osTicket's pre-wrap wrapper"),
}


@dataclass(frozen=True)
class Reason:
    """One doubt about a split: a stable code, a PII-free detail and the entry it concerns."""

    code: str
    detail: str
    penalty: float
    entry: Optional[str] = None

    @classmethod
    def of(cls, code: str, detail: str = "", entry: Optional[str] = None) -> Reason:
        penalty, meaning = REASONS.get(code, (0.2, code.replace("_", " ")))
        return cls(code=code, detail=detail or meaning, penalty=penalty, entry=entry)


def score(reasons: Iterable[Reason]) -> float:
    """Confidence 0..1: the product of (1 − penalty) over all reasons."""
    value = 1.0
    for reason in reasons:
        value *= max(0.0, 1.0 - reason.penalty)
    return round(max(0.0, min(1.0, value)), 4)


@dataclass(frozen=True)
class HoldDecision:
    ticket: str
    hold: bool
    why: str


def should_hold(ticket: str, confidence: float, threshold: float = DEFAULT_THRESHOLD,
                approvals: Collection[str] = ()) -> HoldDecision:
    """Hold a ticket back from loading when its split confidence is below ``threshold``.

    ``approvals`` holds the ticket keys a person signed off on the review page; an approved ticket
    passes whatever its score. A confidence that is not a number between 0 and 1 is held.
    """
    if ticket in approvals:
        return HoldDecision(ticket, False, "approved by reviewer")
    if not isinstance(confidence, (int, float)) or confidence != confidence or not 0.0 <= confidence <= 1.0:
        return HoldDecision(ticket, True, f"confidence {confidence!r} is not a score")
    if confidence < threshold:
        return HoldDecision(ticket, True, f"confidence {confidence:.2f} below threshold {threshold:.2f}")
    return HoldDecision(ticket, False, f"confidence {confidence:.2f} at or above threshold {threshold:.2f}")


def flag_low_confidence(records: Iterable[Record], confidence: float, reasons: Iterable[Reason],
                        threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Put a ``split_low_confidence`` flag on each record when the score is below ``threshold``."""
    if confidence >= threshold:
        return False
    codes = sorted({r.code for r in reasons if r.penalty > 0})
    text = f"thread split confidence {confidence:.2f} < {threshold:.2f}: {', '.join(codes) or 'no reason given'}"
    for record in records:
        if not any(f.code == "split_low_confidence" for f in record.flags):
            record.flag("split_low_confidence", text, severity="error")
    return True
