"""Canonical osTicket-shaped threads for thread-fidelity tests and benchmarks, plus pytest fixtures.

:func:`make_thread` builds one ticket's records as the database path produces them (Ticket, Message,
Attachment, Event): customer messages, agent responses, internal notes, system notes, merged-child
entries, edited entries, ``format='text'`` and ``-`` bodies, non-Latin text, tables, quotes, links,
``cid:`` inline images and attachments. Every body carries a unique token (``TOKEN-<entry id>-``) so a
test can tell where a body ended up. :func:`comparable` is the projection both paths must agree on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hdm.model import Attachment, Event, Message, MessageKind, Provenance, StatusState, Ticket, Visibility
from hdm.threads.normalize import normalize_message

TIMEZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin", "Australia/Adelaide")
NAMES = ("Ann Customer", "Bob O'Brien", "Jürgen Groß", "Мария Иванова", "李小龍", "محمد علي", "Zoë <Q&A> Smith")
AGENTS = ("Jane Agent", "Kenji Sato", "Olu Adeyemi", "Ana Lima")
SNIPPETS = (
    "<p>The VPN drops every <b>ten</b> minutes &amp; reconnects.</p>",
    "<p>Steps tried:</p><ol><li>Restarted the client</li><li>Reinstalled<ul><li>v2.1</li><li>v2.2</li></ul></li></ol>",
    '<p>See <a href="https://status.example.com/incidents/42">the status page</a> for details.</p>',
    "<blockquote><p>On Monday you wrote:</p><p>It still fails.</p></blockquote><p>Thanks, checking.</p>",
    "<table><tr><th>Host</th><th>Result</th></tr><tr><td>vpn-1</td><td>timeout</td></tr></table>",
    "<p>Привет! Проблема с подключением.</p><p>接続の問題があります。</p><p>مشكلة في الاتصال</p>",
    "<p>Line one<br>Line two<br>Line three</p>",
    "<div><strong>Priority:</strong> <em>high</em></div><p>Please call +1 555 0100.</p>",
    "<pre>ERROR 1045 (28000): Access denied\n    at connect()</pre>",
    '<p>Mail <a href="mailto:help@example.com">help@example.com</a> if needed.</p>',
)


@dataclass
class ThreadFixture:
    ticket: Ticket
    messages: list[Message]
    attachments: list[Attachment]
    events: list[Event]
    child_numbers: dict[str, str] = field(default_factory=dict)  # merged child ticket key → number

    def attachments_of(self, message: Message) -> list[Attachment]:
        own = set(message.attachments)
        return [a for a in self.attachments if a.key in own]


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_thread(rng: random.Random, ticket_id: int, entries: int | None = None, *, allow_text: bool = True,
                long_body_chars: int = 0) -> ThreadFixture:
    """One ticket with ``entries`` thread entries (random 1..12 when None), ids unique per ticket id."""
    n = entries if entries is not None else rng.randint(1, 12)
    base = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 600), seconds=rng.randint(0, 86399))
    state = rng.choice([StatusState.OPEN, StatusState.CLOSED, StatusState.OPEN, StatusState.RESOLVED])
    urgency = rng.choice([1, 2, 3, 3, 4])
    tkey = f"ticket:{ticket_id}"
    customer = rng.choice(NAMES)
    ticket = Ticket(
        provenance=Provenance("osticket", "ticket", str(ticket_id)),
        number=str(100000 + ticket_id),
        subject=rng.choice(
            ("VPN down", "Invoice <wrong>", "Zugang gesperrt", "Не работает почта", "Printer & scanner")),
        status=state.value.title(),
        status_state=state,
        priority={1: "Emergency", 2: "High", 3: "Normal", 4: "Low"}[urgency],
        priority_urgency=urgency,
        requester="contact:1",
        created_at=_iso(base),
        channel=rng.choice(("web", "email")),
    )
    messages: list[Message] = []
    attachments: list[Attachment] = []
    events: list[Event] = [Event(
        provenance=Provenance("osticket", "thread_event", f"{ticket_id}01"), ticket=tkey, name="created",
        actor="contact:1", actor_name=customer, at=_iso(base))]
    child_numbers: dict[str, str] = {}
    when = base
    for i in range(n):
        entry_id = ticket_id * 1000 + i + 1
        if i:
            when += timedelta(minutes=rng.randint(1, 3000), seconds=rng.randint(0, 59))
        roll = rng.random()
        if i == 0 or roll < 0.3:
            kind, vis, author = MessageKind.CUSTOMER, Visibility.PUBLIC, rng.choice((customer, rng.choice(NAMES)))
        elif roll < 0.6:
            kind, vis, author = MessageKind.AGENT, Visibility.PUBLIC, rng.choice(AGENTS)
        elif roll < 0.85:
            kind, vis, author = MessageKind.AGENT, Visibility.INTERNAL, rng.choice(AGENTS)
        else:
            kind, vis, author = MessageKind.SYSTEM, Visibility.INTERNAL, "SYSTEM"
        token = f"TOKEN-{entry_id}-"
        fmt = "html"
        body_html: str | None
        body_text: str | None = None
        title = None
        if kind is MessageKind.SYSTEM:
            title = "Status Changed"
            body_html = f"<p>{token} Status changed from Open to Closed by <b>{rng.choice(AGENTS)}</b></p>"
        elif allow_text and rng.random() < 0.12:
            fmt, body_html = "text", None
            body_text = f"{token} plain text <not a tag> & more\n\nSecond paragraph\n  indented line"
        elif rng.random() < 0.05:
            body_html = "-"
        else:
            parts = rng.sample(SNIPPETS, k=rng.randint(1, 4))
            body_html = f"<p>{token}</p>" + "".join(parts)
        if i == 0:
            title = ticket.subject
        elif kind is not MessageKind.SYSTEM and rng.random() < 0.3:
            title = "Re: " + (ticket.subject or "")
        message = Message(
            provenance=Provenance("osticket", "thread_entry", str(entry_id)),
            ticket=tkey, position=i, kind=kind, visibility=vis, author_name=author,
            author="contact:1" if kind is MessageKind.CUSTOMER else None,
            created_at=_iso(when), title=title, body_html=body_html, body_text=body_text, body_format=fmt,
            edited=kind is not MessageKind.SYSTEM and rng.random() < 0.1,
        )
        if kind is not MessageKind.SYSTEM and rng.random() < 0.1:
            child_id = ticket_id * 100 + 90 + i
            message.merged_from = f"ticket:{child_id}"
            child_numbers[message.merged_from] = str(500000 + child_id)
        if fmt == "html" and body_html not in (None, "-") and rng.random() < 0.2:
            att = Attachment(
                provenance=Provenance("osticket", "attachment", f"{entry_id}9"), ticket=tkey,
                message=message.key, file_name=f"screenshot-{entry_id}.png", content_type="image/png", size=20480,
                inline=True, content_id=f"k{entry_id:05d}abcdefghijklmnopqrstuvwxyz"[:32], visibility=vis)
            attachments.append(att)
            message.attachments.append(att.key)
            message.body_html = (body_html or "") + f'<p><img src="cid:{att.content_id}" alt="screenshot"></p>'
        for j in range(rng.choice((0, 0, 0, 1, 2))):
            att = Attachment(
                provenance=Provenance("osticket", "attachment", f"{entry_id}{j}"), ticket=tkey, message=message.key,
                file_name=rng.choice(("log.txt", "Счёт №5.pdf", "report (final).xlsx", "a&b.csv")),
                content_type="application/octet-stream", size=rng.randint(10, 900000), visibility=vis)
            attachments.append(att)
            message.attachments.append(att.key)
        messages.append(message)
        if kind is MessageKind.AGENT and vis is Visibility.PUBLIC and rng.random() < 0.3:
            events.append(Event(
                provenance=Provenance("osticket", "thread_event", f"{entry_id}7"), ticket=tkey, name="assigned",
                actor="agent:1", actor_name=author, at=_iso(when - timedelta(seconds=30)), data={"to": author}))
    if long_body_chars:
        target = messages[0]
        filler = "<p>" + ("Lorem ipsum dolor sit amet, Ωμέγα, данные. " * (long_body_chars // 40 + 1)) + "</p>"
        target.body_format = "html"
        target.body_text = None
        target.body_html = f"<p>TOKEN-{target.provenance.id}-</p>{filler}<p>THE-END</p>"
    if state in (StatusState.CLOSED, StatusState.RESOLVED):
        events.append(Event(
            provenance=Provenance("osticket", "thread_event", f"{ticket_id}99"), ticket=tkey, name="closed",
            actor="agent:1", actor_name=rng.choice(AGENTS), at=_iso(when + timedelta(minutes=5))))
    ticket.message_count = len(messages)
    return ThreadFixture(ticket, messages, attachments, events, child_numbers)


def attachment_ref(att: Attachment) -> str:
    """A stand-in destination reference for an attachment (what a loader's URL function returns)."""
    return f"https://files.example.invalid/{att.provenance.id}"


def comparable(message: Message, attachments: list[Attachment], attachment_names: list[str] | None = None,
               minute_precision: bool = False, stored: bool = False) -> dict:
    """What both extraction paths must agree on for one message, after normalisation. ``stored``: the message is
    in osTicket's stored form (a generated row): the source's extraction rules are applied first (on a copy)."""
    if stored:
        import copy

        from hdm.sources.osticket.bodies import as_written

        message = as_written(copy.copy(message))
    norm = normalize_message(message, attachments, attachment_ref)
    created = norm.created_at[:16] if (minute_precision and norm.created_at) else norm.created_at
    names = attachment_names if attachment_names is not None else norm.attachment_names
    return {
        "kind": norm.kind, "visibility": norm.visibility, "public": norm.public, "author": norm.author_name,
        "created_at": created, "title": " ".join((message.title or "").split()) or None, "html": norm.html,
        "text": norm.text, "empty": norm.empty, "attachments": sorted(names), "edited": message.edited,
        "merged_from": message.merged_from,
    }


@pytest.fixture
def thread_rng() -> random.Random:
    return random.Random(20240611)


@pytest.fixture
def sample_thread(thread_rng: random.Random) -> ThreadFixture:
    """A 14-entry thread with every kind of entry the generator makes."""
    return make_thread(thread_rng, 42, entries=14)
