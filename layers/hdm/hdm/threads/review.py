"""The sample review page: a person signs off thread splitting before the full run.

* :func:`load_staged_threads` reads staged canonical records (gzip JSONL chunks of an extract);
* a source that reads rendered pages gives :class:`TicketThread` objects with its split (osTicket:
  :func:`hdm.sources.osticket.rendered.load_rendered_threads`);
* :func:`select_sample` picks a sample mixing open, closed, high-priority, multi-participant and long
  threads;
* :func:`build_review_page` writes one self-contained HTML page: each ticket's original (the rendered
  page in a sandboxed frame, or the stored bodies) beside its split segments, internal notes marked
  in red with "INTERNAL NOTE — not visible to customer", the confidence and the hold decision.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from hdm import templates
from hdm.model import (
    Attachment,
    Event,
    Message,
    MessageKind,
    StatusState,
    Ticket,
    Visibility,
    record_from_dict,
)
from hdm.threads.body import display_title
from hdm.threads.confidence import DEFAULT_THRESHOLD, Reason, should_hold
from hdm.threads.normalize import normalize_message
from hdm.threads.segments import SplitResult

INTERNAL_LABEL = "INTERNAL NOTE — not visible to customer"
PUBLIC_LABEL = "PUBLIC — visible to customer"
CATEGORIES = ("open", "closed", "high_priority", "multi_participant", "long")
LONG_THREAD = 10  # entries from which a thread counts as long
_THREAD_TYPES = {"ticket", "message", "attachment", "event"}


@dataclass
class TicketThread:
    """One ticket as the review sees it: records (database path) and/or a rendered page (HTML path)."""

    ticket: Ticket
    messages: list[Message] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rendered_html: Optional[str] = None
    split: Optional[SplitResult] = None

    @property
    def thread_messages(self) -> list[Message]:
        """The messages the review shows: the split's when there is one, else the records'."""
        if self.split is not None:
            return self.split.messages
        return sorted(self.messages, key=lambda m: (m.position, m.created_at or ""))

    @property
    def confidence(self) -> float:
        return self.split.confidence if self.split is not None else 1.0

    @property
    def reasons(self) -> list[Reason]:
        return self.split.reasons if self.split is not None else []


@dataclass
class SampleItem:
    thread: TicketThread
    categories: list[str]


# -- loading -------------------------------------------------------------------------------------

def _record_files(root: Path) -> Iterator[Path]:
    for base in (root / "stage" / "extract", root / "extract", root):
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))
            return


def _rows(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_staged_threads(root: str | Path) -> list[TicketThread]:
    """Tickets with their messages, attachments and events from staged canonical records under ``root``.

    ``root`` is a migration folder (``stage/extract/…``), an extract folder, or any folder of
    ``*.jsonl[.gz]`` files of canonical record dicts. Rows of other object types are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"not a directory: {root}")
    tickets: dict[str, Ticket] = {}
    parts: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for path in _record_files(root):
        for row in _rows(path):
            if row.get("_type") not in _THREAD_TYPES:
                continue
            record = record_from_dict(row)
            if isinstance(record, Ticket):
                tickets[record.key] = record
            elif isinstance(record, Message):
                parts[record.ticket]["messages"].append(record)
            elif isinstance(record, Attachment) and record.ticket:
                parts[record.ticket]["attachments"].append(record)
            elif isinstance(record, Event) and record.ticket:
                parts[record.ticket]["events"].append(record)
    return [TicketThread(ticket=t, messages=parts[k]["messages"], attachments=parts[k]["attachments"],
                         events=parts[k]["events"]) for k, t in sorted(tickets.items(), key=lambda kv: _num(kv[0]))]


def _num(ticket_key: str) -> tuple[int, str]:
    ident = ticket_key.partition(":")[2]
    return (int(ident), "") if ident.isdigit() else (1 << 62, ident)


# -- sampling ------------------------------------------------------------------------------------

def categories_of(thread: TicketThread) -> list[str]:
    """Which sample categories a ticket belongs to."""
    t = thread.ticket
    msgs = thread.thread_messages
    cats = []
    state = t.status_state
    if state in (StatusState.NEW, StatusState.OPEN, StatusState.PENDING):
        cats.append("open")
    elif state in (StatusState.CLOSED, StatusState.RESOLVED, StatusState.ARCHIVED):
        cats.append("closed")
    if t.priority_urgency is not None and t.priority_urgency <= 2:
        cats.append("high_priority")
    authors = {m.author or m.author_name for m in msgs if m.kind is not MessageKind.SYSTEM}
    if len(authors - {None}) >= 3 or t.collaborators:
        cats.append("multi_participant")
    if len(msgs) >= LONG_THREAD:
        cats.append("long")
    return cats


def select_sample(threads: Sequence[TicketThread], n: int = 20, seed: int = 0) -> list[SampleItem]:
    """A sample of ``n`` tickets that mixes every category present, then fills at random.

    Deterministic for a seed. Categories take turns, so each present category gets tickets before
    any gets a second one; low-confidence splits are preferred within a category (they need eyes).
    """
    if n <= 0:
        return []
    rng = random.Random(seed)
    pool = list(threads)
    rng.shuffle(pool)
    cats = {id(t): categories_of(t) for t in pool}
    chosen: list[TicketThread] = []
    taken: set[int] = set()
    queues = {c: sorted((t for t in pool if c in cats[id(t)]), key=lambda t: t.confidence) for c in CATEGORIES}
    while len(chosen) < n and any(queues.values()):
        for cat in CATEGORIES:
            queue = queues[cat]
            while queue and id(queue[0]) in taken:
                queue.pop(0)
            if queue and len(chosen) < n:
                pick = queue.pop(0)
                taken.add(id(pick))
                chosen.append(pick)
    for t in pool:
        if len(chosen) >= n:
            break
        if id(t) not in taken:
            taken.add(id(t))
            chosen.append(t)
    chosen.sort(key=lambda t: _num(t.ticket.key))
    return [SampleItem(thread=t, categories=cats[id(t)]) for t in chosen]


# -- page ----------------------------------------------------------------------------------------

def _s(value: object) -> str:
    """A value as the page prints it: ``None`` as nothing (the template escapes it)."""
    return "" if value is None else str(value)


def _segment_view(message: Message, attachments: Iterable[Attachment], names: Sequence[str]) -> dict:
    """One split segment as the page shows it: its visibility label, who and when, the body as it will be loaded
    (nh3-sanitised HTML) and as plain text."""
    norm = normalize_message(message, attachments, lambda a: None)
    internal = not norm.public
    kind = {MessageKind.CUSTOMER: "customer message", MessageKind.AGENT: "agent",
            MessageKind.SYSTEM: "system note"}.get(message.kind, str(message.kind))
    if message.kind is MessageKind.AGENT:
        kind = "agent note" if message.visibility is Visibility.INTERNAL else "agent response"
    visibility = message.visibility.value if isinstance(message.visibility, Visibility) else message.visibility
    return {
        "css_class": "internal" if internal else "public",
        "visibility": _s(visibility),
        "label": INTERNAL_LABEL if internal else PUBLIC_LABEL,
        "position": message.position + 1,
        "kind": kind,
        "author": _s(message.author_name),
        "created_at": _s(message.created_at),
        "title": display_title(message.title) if message.title else "",
        "edited": bool(message.edited),
        "sanitised_html": norm.html,  # sanitize_html (nh3) made it safe: the template shows it as markup
        "files": [_s(n) for n in names],
        "flags": [_s(f.code) for f in message.flags if f.severity != "info"],
        "text": norm.text,
    }


def original_thread_html(thread: TicketThread) -> str:
    """The original of a rendered thread, as a document for the review page's sandboxed frame: the thread part
    the source's reader kept (``SplitResult.original_html``), else the whole page."""
    kept = thread.split.original_html if thread.split is not None else None
    fragment = kept if kept is not None else (thread.rendered_html or "")
    return templates.render("review_original.html.j2", fragment=fragment)


def _stored_views(thread: TicketThread) -> list[dict]:
    """The stored bodies of a ticket's messages as they are (database path), shown as text."""
    out = []
    for m in sorted(thread.messages, key=lambda m: m.position):
        raw = m.body_text if m.body_format == "text" else m.body_html
        out.append({"position": m.position + 1, "entry": _s(m.provenance.id), "author": _s(m.author_name),
                    "created_at": _s(m.created_at), "raw": _s(raw)})
    return out


def build_review_page(sample: Sequence[SampleItem], threshold: float = DEFAULT_THRESHOLD,
                      approvals: Iterable[str] = (), title: str = "hdm thread-splitting review") -> str:
    """One self-contained HTML page (no scripts) for signing off the sample (templates/review.html.j2)."""
    approved = set(approvals)
    held = 0
    tickets = []
    for item in sample:
        thread = item.thread
        decision = should_hold(thread.ticket.key, thread.confidence, threshold, approved)
        held += decision.hold
        names_by_key = {}
        if thread.split is not None:
            names_by_key = {s.message.key: s.attachment_names for s in thread.split.segments}
        segments = []
        for m in thread.thread_messages:
            names = names_by_key.get(m.key)
            if names is None:
                own = set(m.attachments)
                names = [a.file_name for a in thread.attachments if a.key in own and not a.inline]
            segments.append(_segment_view(m, thread.attachments, names))
        t = thread.ticket
        tickets.append({
            "key": t.key, "number": _s(t.number or t.provenance.id), "subject": _s(t.subject),
            "status": _s(t.status), "priority": _s(t.priority), "entries": len(thread.thread_messages),
            "internal": sum(1 for m in thread.thread_messages if m.visibility is not Visibility.PUBLIC),
            "sample": ", ".join(item.categories) or "random", "confidence": thread.confidence,
            "hold": bool(decision.hold), "why": _s(decision.why),
            "reasons": [{"code": _s(r.code), "detail": _s(r.detail), "entry": _s(r.entry)}
                        for r in thread.reasons if r.penalty > 0],
            "original": original_thread_html(thread) if thread.rendered_html is not None else None,
            "stored": _stored_views(thread) if thread.rendered_html is None else [],
            "segments": segments,
        })
    return templates.render("review.html.j2", title=title, tickets=tickets, held=held, threshold=threshold,
                            internal_label=INTERNAL_LABEL)


def load_approvals(path: str | Path | None) -> set[str]:
    """Ticket keys approved by a reviewer: one per line, ``#`` comments allowed."""
    if path is None:
        return set()
    keys = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.add(line)
    return keys
