"""The sample review page: a person signs off thread splitting before the full run.

* :func:`load_staged_threads` reads staged canonical records (gzip JSONL chunks of an extract);
* :func:`load_rendered_threads` reads rendered osTicket pages (one file per ticket) and splits them;
* :func:`select_sample` picks a sample mixing open, closed, high-priority, multi-participant and long
  threads;
* :func:`build_review_page` writes one self-contained HTML page: each ticket's original (the rendered
  page in a sandboxed frame, or the stored bodies) beside its split segments, internal notes marked
  in red with "INTERNAL NOTE — not visible to customer", the confidence and the hold decision.
"""

from __future__ import annotations

import gzip
import html as html_lib
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from selectolax.lexbor import LexborHTMLParser

from hdm.model import (
    Attachment,
    Event,
    Message,
    MessageKind,
    Provenance,
    StatusState,
    Ticket,
    Visibility,
    record_from_dict,
)
from hdm.threads.body import display_title
from hdm.threads.confidence import DEFAULT_THRESHOLD, Reason, should_hold
from hdm.threads.normalize import normalize_message
from hdm.threads.split import SplitResult, detect_page_kind, split_rendered

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

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#222;background:#f4f5f7}
h1{font-size:22px} .summary{background:#fff;padding:8px 12px;border:1px solid #ccd}
.ticket{background:#fff;border:1px solid #ccd;margin:18px 0;padding:10px}
.ticket h2{font-size:17px;margin:4px 0} .meta{font-size:13px;color:#555}
.hold{color:#fff;background:#b00020;padding:2px 6px;border-radius:3px;font-weight:bold}
.pass{color:#fff;background:#2e7d32;padding:2px 6px;border-radius:3px;font-weight:bold}
.cols{display:flex;gap:12px;align-items:flex-start} .col{flex:1 1 50%;min-width:0}
.col h3{font-size:14px;margin:6px 0} iframe{width:100%;height:900px;border:1px solid #bbb;background:#fff}
.segment{border:2px solid #9bb;border-radius:4px;margin:8px 0;padding:6px 8px;background:#fff}
.segment.internal{border:3px solid #c62828;background:#fdecea}
.segment.public{border-color:#2e7d32}
.label{display:inline-block;font-weight:bold;font-size:12px;padding:2px 6px;border-radius:3px;color:#fff}
.segment.internal .label{background:#c62828} .segment.public .label{background:#2e7d32}
.who{font-size:13px;color:#333;margin:4px 0} .body{font-size:14px;overflow-wrap:anywhere}
.body img{max-width:100%} .reasons{font-size:13px;color:#8a4b00} .flags{font-size:12px;color:#8a4b00}
.stored{border:1px dashed #999;margin:6px 0;padding:6px;font-size:13px}
pre.text{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:4px}
"""


def _e(value: object) -> str:
    return html_lib.escape("" if value is None else str(value), quote=True)


def _segment_html(message: Message, attachments: Iterable[Attachment], names: Sequence[str]) -> str:
    norm = normalize_message(message, attachments, lambda a: None)
    internal = not norm.public
    cls = "internal" if internal else "public"
    label = INTERNAL_LABEL if internal else PUBLIC_LABEL
    kind = {MessageKind.CUSTOMER: "customer message", MessageKind.AGENT: "agent",
            MessageKind.SYSTEM: "system note"}.get(message.kind, str(message.kind))
    if message.kind is MessageKind.AGENT:
        kind = "agent note" if message.visibility is Visibility.INTERNAL else "agent response"
    files = ", ".join(_e(n) for n in names) if names else ""
    flags = ", ".join(_e(f.code) for f in message.flags if f.severity != "info")
    body = norm.html if norm.html else "<em>(empty)</em>"
    return (
        f'<div class="segment {cls}" data-visibility="{_e(message.visibility.value if isinstance(message.visibility, Visibility) else message.visibility)}">'  # noqa: E501
        f'<span class="label">{_e(label)}</span>'
        f'<div class="who">#{message.position + 1} · {_e(kind)} · <b>{_e(message.author_name)}</b> · '
        f'{_e(message.created_at)}{" · " + _e(display_title(message.title)) if message.title else ""}'
        f'{" · edited" if message.edited else ""}</div>'
        f'<div class="body">{body}</div>'
        f'{f"<div class=meta>Attachments: {files}</div>" if files else ""}'
        f'{f"<div class=flags>Flags: {flags}</div>" if flags else ""}'
        f'<details><summary>Plain text (CaseComment)</summary><pre class="text">{_e(norm.text)}</pre></details>'
        f'</div>')


# a plain look for the original thread (the page's own stylesheets are not reachable offline)
_ORIGINAL_CSS = (
    "body{font:13px sans-serif;margin:6px} .thread-entry{border:1px solid #bbb;margin:6px 0;padding:4px}"
    ".thread-entry.message{background:#e8f1fb} .thread-entry.response{background:#fff3e6}"
    ".thread-entry.note{background:#fffbd6} .thread-entry.system{background:#eee} .avatar,.action-dropdown,"
    ".muted-button{display:none} .thread-event{color:#666;font-size:12px;margin:4px 0} .header{font-size:12px}"
)


def original_thread_html(page: str) -> str:
    """The thread part of a rendered page (the whole page when no thread container is found)."""
    tree = LexborHTMLParser(page)
    node = tree.css_first("#thread-items") or tree.css_first("#ticketThread") or tree.css_first("#ticket_thread")
    fragment = node.html if node is not None else page
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{_ORIGINAL_CSS}</style></head>" \
           f"<body>{fragment}</body></html>"


def _original_html(thread: TicketThread) -> str:
    if thread.rendered_html is not None:
        return (f'<h3>Original render (thread)</h3><iframe sandbox="" referrerpolicy="no-referrer" '
                f'title="original render of {_e(thread.ticket.key)}" '
                f'srcdoc="{_e(original_thread_html(thread.rendered_html))}"></iframe>')
    parts = ['<h3>Stored bodies (database path)</h3>']
    for m in sorted(thread.messages, key=lambda m: m.position):
        raw = m.body_text if m.body_format == "text" else m.body_html
        parts.append(f'<div class="stored"><div class="who">#{m.position + 1} · entry {_e(m.provenance.id)} · '
                     f'{_e(m.author_name)} · {_e(m.created_at)}</div><pre class="text">{_e(raw)}</pre></div>')
    return "".join(parts)


def build_review_page(sample: Sequence[SampleItem], threshold: float = DEFAULT_THRESHOLD,
                      approvals: Iterable[str] = (), title: str = "hdm thread-splitting review") -> str:
    """One self-contained HTML page (no scripts) for signing off the sample."""
    approved = set(approvals)
    held = 0
    blocks = []
    for item in sample:
        thread = item.thread
        decision = should_hold(thread.ticket.key, thread.confidence, threshold, approved)
        held += decision.hold
        names_by_key = {}
        if thread.split is not None:
            names_by_key = {s.message.key: s.attachment_names for s in thread.split.segments}
        segs = []
        for m in thread.thread_messages:
            names = names_by_key.get(m.key)
            if names is None:
                own = set(m.attachments)
                names = [a.file_name for a in thread.attachments if a.key in own and not a.inline]
            segs.append(_segment_html(m, thread.attachments, names))
        reasons = "".join(f"<li>{_e(r.code)}: {_e(r.detail)}{' (entry ' + _e(r.entry) + ')' if r.entry else ''}</li>"
                          for r in thread.reasons if r.penalty > 0)
        t = thread.ticket
        internal = sum(1 for m in thread.thread_messages if m.visibility is not Visibility.PUBLIC)
        blocks.append(
            f'<section class="ticket" id="{_e(t.key)}" data-ticket="{_e(t.key)}">'
            f'<h2>Ticket #{_e(t.number or t.provenance.id)} — {_e(t.subject)}</h2>'
            f'<div class="meta">{_e(t.key)} · status {_e(t.status)} · priority {_e(t.priority)} · '
            f'{len(thread.thread_messages)} entries ({internal} internal) · sample: {_e(", ".join(item.categories) or "random")}'  # noqa: E501
            f' · confidence {thread.confidence:.2f} · '
            f'<span class="{"hold" if decision.hold else "pass"}">{"HELD" if decision.hold else "PASSES"}</span> '
            f'{_e(decision.why)}</div>'
            f'{f"<ul class=reasons>{reasons}</ul>" if reasons else ""}'
            f'<div class="cols"><div class="col">{_original_html(thread)}</div>'
            f'<div class="col"><h3>Split segments (what will be loaded)</h3>{"".join(segs)}</div></div>'
            f'</section>')
    summary = (f'<div class="summary">{len(sample)} tickets sampled · {held} held below confidence {threshold:.2f}. '
               f'Red blocks marked <b>{_e(INTERNAL_LABEL)}</b> must never reach the customer. To approve a held '
               f'ticket, add its key (e.g. <code>ticket:42</code>) on its own line to the approvals file.</div>')
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
            f'img-src data:; frame-src \'self\'">'
            f'<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>{summary}{"".join(blocks)}</body></html>')


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
