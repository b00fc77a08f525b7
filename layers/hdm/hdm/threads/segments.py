"""A thread read from a rendered page, whatever the source: its segments (canonical messages plus what the page
said about each), its events, the confidence of the reading and the reasons behind it.

A source that reads rendered pages (osTicket: ``hdm.sources.osticket.rendered``) produces these; the review
page (:mod:`hdm.threads.review`) shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hdm.model import Event, Message
from hdm.threads.confidence import Reason


@dataclass
class Segment:
    """One split entry: the canonical message plus what the page said about it."""

    message: Message
    entry_id: Optional[str]
    classes: list[str]
    attachment_names: list[str] = field(default_factory=list)
    attachment_ids: list[str] = field(default_factory=list)  # the source's attachment ids from download links
    merged_from_number: Optional[str] = None
    source_html: str = ""  # the entry as rendered (for the review page)


@dataclass
class SplitResult:
    ticket: Optional[str]
    page_kind: str
    version: str
    segments: list[Segment]
    events: list[Event]
    confidence: float
    reasons: list[Reason]
    original_html: Optional[str] = None  # the thread part of the page as rendered (the review page's original)

    @property
    def messages(self) -> list[Message]:
        return [s.message for s in self.segments]
