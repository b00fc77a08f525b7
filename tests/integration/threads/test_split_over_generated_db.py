"""Over a generated osTicket database: the rendered-HTML path gives what the database path gives.

The database path is the real extractor (``hdm.sources.osticket``) reading MariaDB; the pages are
rendered from its records by ``hdm_infra.osticket.render`` with each version's markup, then split.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hdm.model import Attachment, Event, Message, MessageKind, Ticket, Visibility
from hdm.sources.osticket import OsTicketSource
from hdm.sources.osticket.rendered import split_rendered
from hdm.threads import normalize_message
from hdm_infra.osticket.render import RenderOptions, portal_entries, render, version_tuple
from hdm_infra.testing.threads import attachment_ref, comparable


@pytest.fixture(scope="module")
def extracted(osticket_db):
    db = osticket_db(version="1.18", tickets=40, seed=23, rate_merge=0.1, rate_system_note=0.3,
                     rate_attachment=0.3, rate_edit=0.1, rate_long_body=0.01)
    params = {"host": db.host, "port": db.port, "user": db.user, "password": db.password, "database": db.database}
    records: dict[str, list] = defaultdict(list)
    with OsTicketSource(params, prefix=db.prefix, attachments_dir=str(db.files_dir)) as source:
        for spec in source.plan(chunk_rows=10_000):
            if spec.object_type in ("ticket", "message", "attachment", "event"):
                records[spec.object_type].extend(source.extract(spec))
    tickets = {t.key: t for t in records["ticket"] if isinstance(t, Ticket)}
    by_ticket: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for m in records["message"]:
        if isinstance(m, Message):
            by_ticket[m.ticket]["messages"].append(m)
    for a in records["attachment"]:
        if isinstance(a, Attachment):
            by_ticket[a.ticket]["attachments"].append(a)
    for e in records["event"]:
        if isinstance(e, Event):
            by_ticket[e.ticket]["events"].append(e)
    threads = [(tickets[k], v["messages"], v["attachments"], v["events"]) for k, v in by_ticket.items()
               if k in tickets and v["messages"]]
    assert len(threads) >= 30
    return threads, {k: t.number for k, t in tickets.items()}


@pytest.mark.parametrize(("page_kind", "version"), [("staff", "1.18"), ("staff", "1.14"), ("portal", "1.18"),
                                                    ("print", "1.16.4"), ("staff", "1.9")])
def test_rendered_pages_of_extracted_tickets_split_back_into_the_same_messages(extracted, page_kind, version):
    threads, numbers = extracted
    by_number = {n: k for k, n in numbers.items()}
    local_times = page_kind == "print" or version_tuple(version) < (1, 10, 0)  # minutes, no offset, no badges
    seen_internal = 0
    for ticket, messages, attachments, events in threads:
        if page_kind == "portal" and ticket.kind != "ticket":
            continue  # tasks have no portal page
        expected_msgs = sorted(messages, key=lambda m: (m.created_at or "", int(m.provenance.id)))
        if page_kind == "portal":
            expected_msgs = portal_entries(expected_msgs, None)
        html = render(page_kind, ticket, messages, attachments, events,
                      RenderOptions(version=version, timezone="America/Chicago", ticket_numbers=numbers))
        result = split_rendered(html, page_kind, version, ticket=ticket.key, display_tz="America/Chicago",
                                expected_count=len(expected_msgs), resolve_ticket_number=by_number.get)
        expected = []
        for m in expected_msgs:
            c = comparable(m, attachments, minute_precision=local_times, stored=True)
            if page_kind != "staff" or version_tuple(version) < (1, 14, 0):
                c["merged_from"] = None
            if local_times:
                c["edited"] = False
            expected.append(c)
        got = [comparable(s.message, attachments, s.attachment_names, minute_precision=local_times)
               for s in result.segments]
        assert got == expected, ticket.key
        assert result.confidence >= 0.9, (ticket.key, [r.code for r in result.reasons])
        for seg, src in zip(result.segments, expected_msgs, strict=True):
            if src.visibility is Visibility.INTERNAL:
                seen_internal += 1
                assert normalize_message(seg.message, attachments, attachment_ref).public is False
    if page_kind != "portal":
        assert seen_internal > 0


def test_the_generated_data_exercises_system_notes_merges_and_attachments(extracted):
    threads, _ = extracted
    messages = [m for _, ms, _, _ in threads for m in ms]
    assert any(m.kind is MessageKind.SYSTEM for m in messages)
    assert any(m.merged_from for m in messages)
    assert any(m.attachments for m in messages)
