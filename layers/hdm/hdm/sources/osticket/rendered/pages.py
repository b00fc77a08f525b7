"""Rendered osTicket pages (one ``<ticket id>.html`` per ticket) read into the review's :class:`TicketThread`
objects, split with :func:`hdm.sources.osticket.rendered.split.split_rendered`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from selectolax.lexbor import LexborHTMLParser

from hdm.model import Message, Provenance, Ticket, Visibility
from hdm.sources.osticket.rendered.split import detect_page_kind, split_rendered
from hdm.threads.review import TicketThread


def expected_entry_count(messages: Sequence[Message], page_kind: str) -> Optional[int]:
    """How many entries a page of this kind shows for these records (None: cannot tell)."""
    if page_kind == "staff":
        return len(messages)
    if page_kind == "portal":  # messages and responses; a customer cannot post notes
        return sum(1 for m in messages if m.visibility is Visibility.PUBLIC)
    return None  # the print view includes notes only when asked to


def load_rendered_threads(html_dir: str | Path, page_kind: str = "auto", version: str = "1.18",
                          display_tz: Optional[str] = None,
                          records: Sequence[TicketThread] = ()) -> list[TicketThread]:
    """Split every rendered page in ``html_dir`` (``<ticket id>.html``) into a :class:`TicketThread`.

    When staged ``records`` of the same tickets are given, they supply the ticket fields and the
    expected entry count (checked by the splitter).
    """
    folder = Path(html_dir)
    if not folder.is_dir():
        raise ValueError(f"not a directory: {folder}")
    known = {t.ticket.provenance.id: t for t in records}
    numbers = {t.ticket.number: t.ticket.key for t in records if t.ticket.number}
    out: list[TicketThread] = []
    for path in sorted(folder.glob("*.html"), key=lambda p: _num(f"x:{p.stem}")):
        ident = path.stem.removeprefix("ticket-")
        page = path.read_text(encoding="utf-8", errors="replace")
        base = known.get(ident)
        ticket = base.ticket if base else Ticket(provenance=Provenance("osticket", "ticket", ident))
        kind = page_kind if page_kind != "auto" else (detect_page_kind(LexborHTMLParser(page)) or "staff")
        expected = expected_entry_count(base.messages, kind) if base is not None and base.messages else None
        result = split_rendered(page, kind, version, ticket=ticket.key, expected_count=expected,
                                display_tz=display_tz, resolve_ticket_number=numbers.get)
        thread = TicketThread(ticket=ticket, messages=base.messages if base else [],
                              attachments=base.attachments if base else [], events=base.events if base else [],
                              rendered_html=page, split=result)
        out.append(thread)
    return out


def _num(ticket_key: str) -> tuple[int, str]:
    ident = ticket_key.partition(":")[2]
    return (int(ident), "") if ident.isdigit() else (1 << 62, ident)
