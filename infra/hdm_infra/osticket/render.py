"""Render canonical records as osTicket renders a ticket: staff page, client portal page, print view.

Test fixtures for the rendered-HTML thread splitter (``hdm.sources.osticket.rendered.split``): the same Ticket, Message,
Attachment and Event records the database path produces, written out with the markup of a given
osTicket version (reference/notes/osticket.md §3):

* staff page (``include/staff/templates/thread-entries.tmpl.php`` + ``thread-entry.tmpl.php`` +
  ``thread-event.tmpl.php``): ``div#thread-items`` > ``div#thread-entry-N`` > ``div.thread-entry.<kind>``,
  ``.system`` replacing the kind for system notes, ``time[datetime]`` inside ``a[name=entry-N]``, the
  stray ``</span>`` after the title on 1.10 – 1.15.6 / 1.16.0 – 1.16.1, the inline style of 1.16.4+
  (``position:relative``) and 1.17.4+ (``position:relative;z-index:auto;``), badges (Edited, Resent,
  reply-all/reply-user icons 1.11+, (Cc) Collaborator, ``icon-code-fork`` "Ticket #N" 1.14+),
  attachments list without the inline files, inline images as download URLs with ``data-cid``;
* portal page (``include/client/templates/…``): ``div#ticketThread``, ``div.thread-body#thread-id-N``,
  no system class, no ``a[name]`` around ``time``, "Staff" as author when ``hide_staff_name`` is on,
  only M/R entries (plus the viewer's own) and the client event subset;
* print view (``include/staff/templates/ticket-print.tmpl.php``): ``div#ticket_thread`` >
  ``div.thread-entry.<kind>`` > ``table.header`` (local date without offset, title, author) +
  ``div.thread-body`` + ``div.info``; notes only with ``notes=1``; system notes print as notes.

Bodies are written as osTicket displays them: stored HTML as is (``cid:`` images rewritten),
``format='text'`` escaped in a ``white-space:pre-wrap`` div, ``-`` as "(empty)".
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Optional
from zoneinfo import ZoneInfo

from hdm.model import Attachment, Event, Message, MessageKind, Ticket, Visibility

PAGE_KINDS = ("staff", "portal", "print")
VERSIONS = ("1.10", "1.11", "1.14", "1.16.4", "1.17.4", "1.18")
LEGACY_VERSIONS = ("1.9",)  # staff page only: the pre-1.10 table markup

EVENT_ICONS = {
    "created": "magic", "closed": "thumbs-up-alt", "reopened": "rotate-right", "assigned": "hand-right",
    "released": "unlock", "transferred": "share-alt", "referred": "exchange", "overdue": "time",
    "edited": "pencil", "collab": "group", "resent": "reply-all icon-flip-horizontal", "merged": "code-fork",
    "linked": "link", "unlinked": "unlink",
}
_PORTAL_EVENTS = {"created", "closed", "reopened", "edited", "collab", "merged"}
_EVENT_PHRASES = {
    "created": "Created by <b>{who}</b> {when}",
    "closed": "Closed by <b>{who}</b> {when}",
    "reopened": "Reopened by <b>{who}</b> {when}",
    "assigned": "<b>{who}</b> assigned this to <strong>{what}</strong> {when}",
    "released": "<b>{who}</b> released this assignment {when}",
    "transferred": "<b>{who}</b> transferred this to <strong>{what}</strong> {when}",
    "referred": "<b>{who}</b> referred this to <strong>{what}</strong> {when}",
    "overdue": "Flagged as overdue by the system {when}",
    "edited": "<b>{who}</b> edited the ticket {when}",
    "collab": "<b>{who}</b> added a collaborator {when}",
    "merged": "<b>{who}</b> merged this ticket with <strong>{what}</strong> {when}",
    "linked": "<b>{who}</b> linked this ticket with <strong>{what}</strong> {when}",
    "unlinked": "<b>{who}</b> unlinked this ticket {when}",
}
_KIND_CLASS = {"M": "message", "R": "response", "N": "note"}


def version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.strip().lstrip("v").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts[:3])


def _between(v: tuple[int, ...], lo: str, hi: str) -> bool:
    return version_tuple(lo) <= v <= version_tuple(hi)


@dataclass(frozen=True)
class Markup:
    """What one osTicket version's thread templates print (reference/notes/osticket.md §3.5)."""

    version: str
    stray_title_span: bool
    entry_style: Optional[str]
    merge_badge: bool
    reply_icons: bool
    collaborator_label: str
    attachment_id_in_url: bool
    table_layout: bool = False  # before 1.10: include/staff/ticket-view.inc.php prints a table per entry

    @classmethod
    def of(cls, version: str) -> Markup:
        v = version_tuple(version)
        stray = _between(v, "1.10", "1.15.6") or _between(v, "1.16.0", "1.16.1")
        if v >= version_tuple("1.17.4"):
            style: Optional[str] = "position:relative;z-index:auto;"
        elif _between(v, "1.16.4", "1.16.99") or _between(v, "1.17.1", "1.17.3"):
            style = "position:relative"
        else:
            style = None
        return cls(
            version=version,
            stray_title_span=stray,
            entry_style=style,
            merge_badge=v >= version_tuple("1.14"),
            reply_icons=v >= version_tuple("1.11"),
            collaborator_label="Cc Collaborator" if v >= version_tuple("1.11") else "Collaborator",
            attachment_id_in_url=v >= version_tuple("1.11"),
            table_layout=v < version_tuple("1.10"),
        )


@dataclass
class RenderOptions:
    version: str = "1.18"
    timezone: str = "UTC"  # the viewer's timezone: times carry its offset
    avatars: bool = True
    hide_staff_name: bool = False
    newest_first: bool = False  # staff preference thread_view_order = DESC
    print_notes: bool = True  # print view ?notes=1
    print_events: bool = True  # print view ?events=1
    portal_viewer: Optional[str] = None  # contact key of the portal user viewing (their own entries show)
    ticket_numbers: Mapping[str, str] = field(default_factory=dict)  # ticket key → number (merge badges)
    system_notes: bool = True  # staff page marks FLAG_SYSTEM entries .system


@dataclass
class _Ctx:
    ticket: Ticket
    messages: list[Message]
    atts: dict[str, Attachment]
    events: list[Event]
    opts: RenderOptions
    markup: Markup
    tz: ZoneInfo


# -- time ----------------------------------------------------------------------------------------

def _parse_utc(value: Optional[str]) -> Optional[datetime]:
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _local(ctx: _Ctx, value: Optional[str]) -> Optional[datetime]:
    dt = _parse_utc(value)
    return dt.astimezone(ctx.tz) if dt else None


def _w3c(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _short(dt: datetime) -> str:  # Format::datetime with the default m/d/Y g:i a
    return f"{dt.month:02d}/{dt.day:02d}/{dt.year} {dt.strftime('%I:%M %p').lstrip('0')}"


def _long(dt: datetime) -> str:  # Format::daydatetime
    return f"{dt.strftime('%A, %B')} {dt.day}, {dt.year} at {dt.strftime('%I:%M %p').lstrip('0')}"


def _e(value: Optional[str]) -> str:
    return html.escape(value or "", quote=True)


# -- shared pieces -------------------------------------------------------------------------------

def _entry_type(message: Message) -> str:
    if message.kind is MessageKind.CUSTOMER:
        return "M"
    if message.visibility is Visibility.INTERNAL or message.kind is MessageKind.SYSTEM:
        return "N"
    return "R"


def _is_system(message: Message) -> bool:
    return message.kind is MessageKind.SYSTEM


def _avatar(message: Message) -> str:
    seed = (message.author_email or message.author_name or "x").strip().lower().encode("utf-8")
    digest = hashlib.md5(seed).hexdigest()  # noqa: S324 - gravatar URL shape, not security
    return (f'<img class="avatar" alt="Avatar" src="//www.gravatar.com/avatar/{digest}?s=80&amp;d=mm" '
            f'width="80" height="80">')


def _display_name(ctx: _Ctx, message: Message) -> str:
    name = message.author_name or ""
    if ctx.opts.hide_staff_name and message.kind is MessageKind.AGENT:
        return "Staff"
    return name


def _download_url(ctx: _Ctx, att: Attachment) -> str:
    key = att.content_id or hashlib.sha1((att.provenance.id or "").encode()).hexdigest()[:32]  # noqa: S324
    url = f"file.php?key={_e(key)}&amp;expires=1700000000&amp;signature=3b5e0c1d9f2a7e6b4c8d0a1f"
    if ctx.markup.attachment_id_in_url:
        url += f"&amp;id={_e(att.provenance.id)}"
    return url


def _body_html(ctx: _Ctx, message: Message, print_view: bool = False) -> str:
    """The body as ``ThreadEntryBody::toHtml()`` shows it."""
    if message.body_format == "text":
        raw = message.body_text if message.body_text is not None else (message.body_html or "")
        if raw.strip() == "-":
            return "(empty)"
        return f'<div style="white-space:pre-wrap">{_htmlchars(raw)}</div>'
    raw = message.body_html if message.body_html is not None else (message.body_text or "")
    if raw.strip() in ("-", ""):
        return "(empty)"
    return _viewable_images(ctx, raw)


_BARE_AMP = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")


def _htmlchars(text: str) -> str:
    """``Format::htmlchars`` as the text body display uses it: no double encoding, so a body stored
    entity-escaped (1.11+, see tests/fixtures/osticket_real) shows ``&gt;`` once, like the real page."""
    return _BARE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def _viewable_images(ctx: _Ctx, body: str) -> str:
    """``Format::viewableImages``: ``src="cid:KEY"`` → download URL + ``data-cid="KEY"``."""
    if "cid:" not in body:
        return body
    by_cid = {a.content_id: a for a in ctx.atts.values() if a.content_id}
    out = []
    rest = body
    marker = 'src="cid:'
    while True:
        i = rest.find(marker)
        if i < 0:
            out.append(rest)
            break
        j = rest.find('"', i + len(marker))
        if j < 0:
            out.append(rest)
            break
        cid = rest[i + len(marker):j]
        att = by_cid.get(cid)
        url = _download_url(ctx, att) if att else f"file.php?key={_e(cid)}&amp;expires=1700000000"
        out.append(rest[:i] + f'src="{url}" data-cid="{_e(cid)}"')
        rest = rest[j + 1:]
    return "".join(out)


def _files(ctx: _Ctx, message: Message) -> list[Attachment]:
    return [ctx.atts[k] for k in message.attachments if k in ctx.atts and not ctx.atts[k].inline]


def _size(n: Optional[int]) -> str:
    if not n:
        return ""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n // 1024} kb"
    return f"{n / (1024 * 1024):.1f} mb"


def _ordered(messages: Iterable[Message]) -> list[Message]:
    return sorted(messages, key=lambda m: (m.created_at or "", _int(m.provenance.id), m.position))


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _event_html(ctx: _Ctx, event: Event, client: bool) -> str:
    dt = _local(ctx, event.at)
    when = ""
    if dt is not None:
        when = (f'<time class="relative" datetime="{_w3c(dt)}" data-toggle="tooltip" '
                f'title="{_e(_long(dt))}">{_e(_short(dt))}</time>')
    phrase = _EVENT_PHRASES.get(event.name, "<b>{who}</b> " + _e(event.name) + " {when}")
    what = event.data.get("to") or event.data.get("name") or event.data.get("number") or ""
    who = event.actor_name or "SYSTEM"
    avatar = "" if client or not ctx.opts.avatars else f'<span class="avatar">{_avatar_for_name(who)}</span>'
    description = phrase.format(who=avatar + _e(who), what=_e(str(what)), when=when)
    icon = EVENT_ICONS.get(event.name, "circle")
    action = " action" if event.actor else ""
    return (f'<div class="thread-event{action}">\n        <span class="type-icon">\n'
            f'          <i class="faded icon-{icon}"></i>\n        </span>\n'
            f'        <span class="faded description">\n            {description}\n        </span>\n</div>\n')


def _avatar_for_name(name: str) -> str:
    digest = hashlib.md5(name.lower().encode("utf-8")).hexdigest()  # noqa: S324
    return f'<img class="avatar" alt="Avatar" src="//www.gravatar.com/avatar/{digest}?s=80&amp;d=mm">'


def _interleave(ctx: _Ctx, entries: list[Message], events: list[Event]) -> list[tuple[str, object]]:
    """Events before the first entry created after them, the rest at the end (as the templates do)."""
    out: list[tuple[str, object]] = []
    pending = sorted(events, key=lambda e: e.at or "")
    i = 0
    for message in entries:
        while i < len(pending) and (pending[i].at or "") <= (message.created_at or ""):
            out.append(("event", pending[i]))
            i += 1
        out.append(("entry", message))
    out.extend(("event", e) for e in pending[i:])
    return out


# -- staff page ----------------------------------------------------------------------------------

def _staff_entry(ctx: _Ctx, message: Message) -> str:
    m = ctx.markup
    eid = _e(message.provenance.id)
    etype = _entry_type(message)
    kind_class = "system" if (_is_system(message) and ctx.opts.system_notes) else _KIND_CLASS[etype]
    avatar = ctx.opts.avatars
    classes = f"thread-entry {kind_class} {'avatar' if avatar else ''}"
    style = f' style="{m.entry_style}"' if m.entry_style else ""
    dt = _local(ctx, message.created_at)
    parts = [f'<div class="{classes}"{style}>\n']
    if avatar:
        side = "pull-right" if etype == "M" else "pull-left"
        parts.append(f'    <span class="{side} avatar">\n{_avatar(message)}\n    </span>\n')
    parts.append('    <div class="header">\n        <div class="pull-right">\n')
    parts.append(
        f'        <span class="muted-button pull-right" data-dropdown="#entry-action-more-{eid}">\n'
        f'            <i class="icon-caret-down"></i>\n        </span>\n'
        f'        <div id="entry-action-more-{eid}" class="action-dropdown anchor-right">\n'
        f'            <ul class="title">\n'
        f'                <li><a class="no-pjax" href="#" onclick="javascript:'
        f"$.dialog('ajax.php/tickets/{_e(ctx.ticket.provenance.id)}/thread/{eid}/edit'); return false;\">"
        f'<i class="icon-pencil"></i> Edit</a></li>\n'
        f'                <li><a class="no-pjax" href="#" onclick="javascript: return false;">'
        f'<i class="icon-reply-all"></i> Resend</a></li>\n'
        f'                <li><a class="no-pjax" href="#" onclick="javascript: return false;">'
        f'<i class="icon-copy"></i> Create Task</a></li>\n'
        f'            </ul>\n        </div>\n'
    )
    parts.append('        <span class="textra light">\n')
    if message.edited:
        parts.append(f'                <span class="label label-bare" title="Edited on {_e(_short(dt) if dt else "")}'
                     f' by {_e(message.author_name)}">Edited</span>\n')
    flags = set(_flag_codes(message))
    if "resent" in flags:
        parts.append('                <span class="label label-bare">Resent</span>\n')
    if m.reply_icons and "reply_all" in flags:
        parts.append('                <span class="label label-bare"><i class="icon-group"></i></span>\n')
    if m.reply_icons and "reply_user" in flags:
        parts.append('                <span class="label label-bare"><i class="icon-user"></i></span>\n')
    if etype == "M" and "collaborator" in flags:
        parts.append(f'                <span class="label label-bare">{m.collaborator_label}</span>\n')
    if m.merge_badge and message.merged_from:
        number = ctx.opts.ticket_numbers.get(message.merged_from) or message.merged_from.partition(":")[2]
        parts.append(f'                <span class="label label-bare"><i class="icon-code-fork" '
                     f'title="Ticket #{_e(number)}"></i></span>\n')
    parts.append('        </span>\n        </div>\n')
    time_html = ""
    if dt is not None:
        time_html = (f'<a name="entry-{eid}" href="#entry-{eid}"><time \n                '
                     f'datetime="{_w3c(dt)}" data-toggle="tooltip" title="{_e(_long(dt))}">{_e(_short(dt))}</time></a>')
    parts.append(f'        <b>{_e(_display_name(ctx, message))}</b> posted {time_html}\n')
    if m.stray_title_span:
        parts.append(f'        <span style="max-width:400px" class="faded title truncate">{_e(message.title)}</span>\n'
                     f'        </span>\n')
    else:
        parts.append(f'        <span style="max-width:400px" class="faded title truncate">{_e(message.title)}\n'
                     f'        </span>\n')
    parts.append('    </div>\n    <div class="thread-body no-pjax">\n')
    parts.append(f'        <div>{_body_html(ctx, message)}</div>\n        <div class="clear"></div>\n')
    files = _files(ctx, message)
    if files:
        parts.append('    <div class="attachments">')
        for att in files:
            size = f'<small class="filesize faded">{_size(att.size)}</small>' if att.size else ""
            parts.append(
                f'\n        <span class="attachment-info">\n        <i class="icon-paperclip '
                f'icon-flip-horizontal"></i>\n'
                f'        <a class="no-pjax truncate filename"\n            href="{_download_url(ctx, att)}" '
                f'download="{_e(att.file_name)}"\n            target="_blank">{_e(att.file_name)}</a>{size}\n'
                f'        </span>\n')
        parts.append('</div>')
    parts.append('    </div>\n')
    inline = [ctx.atts[k] for k in message.attachments if k in ctx.atts and ctx.atts[k].inline]
    if inline:
        urls = ", ".join(f'"{_e(a.content_id or a.provenance.id)}": {{"download_url": "{_download_url(ctx, a)}"}}'
                         for a in inline)
        parts.append(f'        <script type="text/javascript">\n            $(\'#thread-entry-{eid}\')'
                     f".data('imageUrls', {{{urls}}});\n        </script>\n")
    parts.append('</div>\n')
    return "".join(parts)


def _flag_codes(message: Message) -> list[str]:
    return [f.code for f in message.flags]


def _staff_thread(ctx: _Ctx) -> str:
    entries = _ordered(ctx.messages)
    items = _interleave(ctx, entries, ctx.events)
    if ctx.opts.newest_first:
        items.reverse()
    out = [f'<div id="ticket_thread" class="tab_content">\n<div id="ticketThread">\n'
           f'<div id="thread-items" data-thread-id="{_e(ctx.ticket.provenance.id)}">\n']
    for what, item in items:
        if what == "event":
            out.append(_event_html(ctx, item, client=False))  # type: ignore[arg-type]
        else:
            message: Message = item  # type: ignore[assignment]
            out.append(f'<div id="thread-entry-{_e(message.provenance.id)}">{_staff_entry(ctx, message)}</div>\n')
    out.append('</div>\n</div>\n</div>\n')
    return "".join(out)


def _page(title: str, body: str, staff: bool) -> str:
    css = ("scp/css/scp.css", "scp/css/thread.css", "css/font-awesome.min.css", "css/redactor.css") if staff \
        else ("css/osticket.css", "assets/default/css/theme.css", "css/thread.css", "css/font-awesome.min.css")
    links = "\n".join(f'    <link rel="stylesheet" href="{c}" media="all">' for c in css)
    return (f'<!DOCTYPE html>\n<html lang="en_US">\n<head>\n    <meta charset="utf-8">\n'
            f'    <meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1">\n    <title>{_e(title)}</title>\n'
            f'{links}\n    <script type="text/javascript" src="js/jquery-3.5.1.min.js"></script>\n'
            f'    <script type="text/javascript" src="scp/js/thread.js"></script>\n</head>\n'
            f'<body>\n{body}\n</body>\n</html>\n')


def _staff_chrome_top(ctx: _Ctx) -> str:
    t = ctx.ticket
    rows = [("Status", t.status), ("Priority", t.priority), ("Department", t.queue), ("Create Date", t.created_at),
            ("Assigned To", t.assignee), ("SLA Plan", t.sla_policy), ("Due Date", t.due_at),
            ("Help Topic", t.category),
            ("Source", t.channel), ("Last Message", t.updated_at), ("Last Response", t.updated_at)]
    cells = "\n".join(f'        <tr><th width="100">{_e(k)}:</th><td>{_e(str(v) if v is not None else "")}</td></tr>'
                      for k, v in rows)
    nav = "\n".join(f'        <li class="inactive"><a href="{u}">{n}</a></li>' for n, u in (
        ("Dashboard", "dashboard.php"), ("Users", "users.php"), ("Tasks", "tasks.php"), ("Tickets", "tickets.php"),
        ("Knowledgebase", "kb.php")))
    sub = "\n".join(f'        <li><a class="Ticket" href="tickets.php?queue={i}" title="">{n}</a></li>' for i, n in
                    enumerate(("Open", "Answered", "My Tickets", "Overdue", "Closed", "Search"), start=1))
    return (f'<div id="container">\n    <div id="header">\n        <p id="info" class="pull-right no-pjax">Welcome, '
            f'<strong>Agent</strong>. | <a href="profile.php">Profile</a> | <a href="logout.php" class="no-pjax">'
            f'Log Out</a></p>\n        <a href="index.php" class="no-pjax" id="logo"><span '
            f'class="valign-helper"></span>'
            f'<img src="logo.php" alt="osTicket &mdash; Customer Support System"></a>\n    </div>\n'
            f'    <div id="pjax-container" class="">\n    <ul id="nav">\n{nav}\n    </ul>\n    <ul '
            f'id="sub_nav">\n{sub}\n'
            f'    </ul>\n    <div id="content">\n<div>\n    <div class="sticky bar">\n       <div class="content">\n'
            f'        <div class="pull-left flush-left">\n            <h2><a '
            f'href="tickets.php?id={_e(t.provenance.id)}"'
            f' title="Reload"><i class="icon-refresh"></i> Ticket #{_e(t.number)}</a></h2>\n        </div>\n'
            f'       </div>\n    </div>\n</div>\n<div class="clear tixTitle has_bottom_border">\n    '
            f'<h3>{_e(t.subject)}'
            f'</h3>\n</div>\n<table class="ticket_info" cellspacing="0" cellpadding="0" width="940" border="0">\n'
            f'    <tr><td width="50%">\n      <table border="0" cellspacing="" cellpadding="4" width="100%">\n{cells}\n'
            f'      </table>\n    </td></tr>\n</table>\n<div class="clear"></div>\n<ul class="tabs clean threads" '
            f'id="ticket_tabs">\n    <li class="active"><a id="ticket-thread-tab" href="#ticket_thread">Ticket Thread'
            f' ({len(ctx.messages)})</a></li>\n    <li><a id="ticket-tasks-tab" href="#tasks">Tasks</a></li>\n</ul>\n'
            f'<div id="ticket_tabs_container">\n')


def _staff_chrome_bottom(ctx: _Ctx) -> str:
    canned = "\n".join(f'                <option value="{i}">Canned response {i}: common answer</option>'
                       for i in range(1, 21))
    return (f'</div>\n<div class="sticky bar stop actions" id="response_options">\n    <ul class="tabs" '
            f'id="response-tabs">'
            f'\n        <li class="active"><a href="#reply" id="post-reply-tab">Post Reply</a></li>\n'
            f'        <li><a href="#note" id="post-note-tab">Post Internal Note</a></li>\n    </ul>\n'
            f'    <form id="reply" class="tab_content spellcheck exclusive save" data-lock-object-id="ticket/'
            f'{_e(ctx.ticket.provenance.id)}" action="tickets.php?id={_e(ctx.ticket.provenance.id)}#reply" '
            f'name="reply" method="post" enctype="multipart/form-data">\n'
            f'        <input type="hidden" name="__CSRFToken__" value="0123456789abcdef0123456789abcdef01234567">\n'
            f'        <table style="width:100%" border="0" cellspacing="0" cellpadding="3">\n'
            f'            <tbody id="to_sec"><tr><td width="120"><label><strong>To</strong>:</label></td><td>'
            f'<select id="emailreply" name="emailreply"><option value="1" selected="selected">&mdash; Requester '
            f'&mdash;</option><option value="0">&mdash; Do Not Email Reply &mdash;</option></select></td></tr></tbody>'
            f'\n            <tbody id="resp_sec"><tr><td colspan="2"><select id="cannedResp" name="cannedResp">\n'
            f'                <option value="0" selected="selected">Select a canned response</option>\n{canned}\n'
            f'            </select><textarea name="response" id="response" cols="50" data-signature-field='
            f'"signature" data-dept-id="1" data-signature="" placeholder="Start writing your response here."'
            f' rows="9" wrap="soft" class="richtext ifhtml draft draft-delete"></textarea>\n'
            f'            <div id="reply_form_attachments" class="attachments"><div class="filedrop"><div class='
            f'"files"></div><div class="dropzone"><i class="icon-upload"></i> Drop files here or <a href="#" '
            f'class="manual"> choose them </a><input type="file" multiple="multiple" id="file-reply" style="display:'
            f'none;" accept=""></div></div></div></td></tr></tbody>\n        </table>\n        <p style="text-align:'
            f'center;"><input class="save pending" type="submit" value="Post Reply"> <input class="" type="reset" '
            f'value="Reset"></p>\n    </form>\n    <form id="note" class="hidden tab_content spellcheck exclusive save"'
            f' action="tickets.php?id={_e(ctx.ticket.provenance.id)}#note" name="note" method="post" enctype='
            f'"multipart/form-data">\n        <input type="hidden" name="__CSRFToken__" value="0123456789abcdef">\n'
            f'        <textarea placeholder="Note details" class="richtext ifhtml draft draft-delete" name="note" '
            f'id="internal_note" cols="80" rows="9" wrap="soft"></textarea>\n        <p style="text-align:center;">'
            f'<input class="save pending" type="submit" value="Post Note"></p>\n    </form>\n</div>\n'
            f'    </div>\n    </div>\n    <div id="footer">Copyright &copy; 2006-2023&nbsp;Support Center&nbsp;All '
            f'Rights Reserved.</div>\n</div>\n')


def _short_title(message: Message) -> str:
    """The entry title as the 1.9 staff page and the print view show it: cut at 100 characters."""
    title = message.title or ""
    return title[:100].rstrip() + "..." if len(title) > 100 else title


def _legacy_entry(ctx: _Ctx, message: Message) -> str:
    """One entry of a 1.9.x staff page: ``table.thread-entry.<kind>`` (no events, no system class)."""
    etype = _entry_type(message)
    dt = _local(ctx, message.created_at)
    title = _short_title(message)
    parts = [f'<table class="thread-entry {_KIND_CLASS[etype]}" cellspacing="0" cellpadding="1" width="940" '
             f'border="0">\n    <tr>\n        <th colspan="4" width="100%">\n        <div>\n'
             f'            <span class="pull-left">\n            <span style="display:inline-block">'
             f'{_e(_short(dt)) if dt else ""}</span>\n            <span style="display:inline-block;padding:0 1em" '
             f'class="faded title">{_e(title)}</span>\n            </span>\n'
             f'            <span class="pull-right" style="white-space:no-wrap;display:inline-block">\n'
             f'                <span style="vertical-align:middle;" class="textra"></span>\n'
             f'                <span style="vertical-align:middle;" class="tmeta faded title">'
             f'{_e(_display_name(ctx, message))}</span>\n            </span>\n        </div>\n        </th>\n'
             f'    </tr>\n    <tr><td colspan="4" class="thread-body" id="thread-id-{_e(message.provenance.id)}">'
             f'<div>{_body_html(ctx, message)}</div></td></tr>\n']
    files = _files(ctx, message)
    if files:
        links = "\n".join(f'<a class="Icon file no-pjax" href="{_download_url(ctx, a)}" target="_blank">'
                          f'{_e(a.file_name)}</a>&nbsp;<em>({_size(a.size)})</em>' for a in files)
        parts.append(f'    <tr>\n        <td class="info" colspan="4">{links}</td>\n    </tr>\n')
    parts.append('</table>\n')
    return "".join(parts)


def render_staff_page(ticket: Ticket, messages: Sequence[Message], attachments: Iterable[Attachment] = (),
                      events: Iterable[Event] = (), options: RenderOptions | None = None) -> str:
    """The agent's ticket page (``scp/tickets.php?id=N``) with the whole thread."""
    ctx = _context(ticket, messages, attachments, events, options)
    if ctx.markup.table_layout:
        thread = '<div id="ticket_thread">\n' + "".join(_legacy_entry(ctx, m) for m in _ordered(ctx.messages))
        body = _staff_chrome_top(ctx) + thread + "</div>\n" + _staff_chrome_bottom(ctx)
        return _page(f"Ticket #{ticket.number} :: Support Ticket System", body, staff=True)
    body = _staff_chrome_top(ctx) + _staff_thread(ctx) + _staff_chrome_bottom(ctx)
    return _page(f"Ticket #{ticket.number} :: Support Ticket System", body, staff=True)


# -- portal page ---------------------------------------------------------------------------------

def portal_entries(messages: Sequence[Message], viewer: Optional[str]) -> list[Message]:
    """What the portal lists: messages and responses, plus entries the viewing user posted."""
    return [m for m in messages
            if _entry_type(m) in ("M", "R") or (viewer is not None and m.author == viewer)]


def _portal_entry(ctx: _Ctx, message: Message) -> str:
    m = ctx.markup
    eid = _e(message.provenance.id)
    etype = _entry_type(message)
    avatar = ctx.opts.avatars
    dt = _local(ctx, message.created_at)
    parts = [f'<div class="thread-entry {_KIND_CLASS[etype]} {"avatar" if avatar else ""}">\n']
    if avatar:
        side = "pull-left" if etype == "M" else "pull-right"
        parts.append(f'    <span class="{side} avatar">\n{_avatar(message)}\n    </span>\n')
    parts.append('    <div class="header">\n        <div class="pull-right">\n            <span class="textra '
                 'light">\n')
    if message.edited:
        parts.append('                <span class="label label-bare" title="Edited">Edited</span>\n')
    parts.append('            </span>\n        </div>\n')
    time_html = ""
    if dt is not None:
        time_html = f'<time datetime="{_w3c(dt)}" title="{_e(_long(dt))}">{_e(_short(dt))}</time>'
    parts.append(f'        <b>{_e(_display_name(ctx, message))}</b> posted {time_html}\n')
    if m.stray_title_span:
        parts.append(f'        <span style="max-width:500px" class="faded title truncate">{_e(message.title)}</span>\n'
                     f'        </span>\n')
    else:
        parts.append(f'        <span style="max-width:500px" class="faded title truncate">{_e(message.title)}\n'
                     f'        </span>\n')
    parts.append(f'    </div>\n    <div class="thread-body" id="thread-id-{eid}">\n'
                 f'        <div>{_body_html(ctx, message)}</div>\n        <div class="clear"></div>\n')
    files = _files(ctx, message)
    if files:
        parts.append('    <div class="attachments">')
        for att in files:
            size = f'<small class="filesize faded">{_size(att.size)}</small>' if att.size else ""
            parts.append(
                f'\n        <span class="attachment-info">\n        <i class="icon-paperclip '
                f'icon-flip-horizontal"></i>\n'
                f'        <a class="no-pjax truncate filename" href="{_download_url(ctx, att)}" '
                f'download="{_e(att.file_name)}" target="_blank">{_e(att.file_name)}</a>{size}\n        </span>\n')
        parts.append('</div>')
    parts.append('    </div>\n</div>\n')
    return "".join(parts)


def render_portal_page(ticket: Ticket, messages: Sequence[Message], attachments: Iterable[Attachment] = (),
                       events: Iterable[Event] = (), options: RenderOptions | None = None) -> str:
    """The end user's ticket page in the client portal (``tickets.php?id=N``)."""
    ctx = _context(ticket, messages, attachments, events, options)
    entries = portal_entries(_ordered(ctx.messages), ctx.opts.portal_viewer)
    events_shown = [e for e in ctx.events if e.name in _PORTAL_EVENTS]
    out = [f'<div id="ticketThread" data-thread-id="{_e(ticket.provenance.id)}">\n']
    for what, item in _interleave(ctx, entries, events_shown):
        if what == "event":
            out.append(_event_html(ctx, item, client=True))  # type: ignore[arg-type]
        else:
            message: Message = item  # type: ignore[assignment]
            out.append(f'<div id="thread-entry-{_e(message.provenance.id)}">{_portal_entry(ctx, message)}</div>\n')
    out.append('</div>\n')
    t = ticket
    top = (f'<div id="container">\n<div id="header"><div class="pull-right flush-right"><p><a href="tickets.php">'
           f'Tickets</a> - <a href="logout.php">Sign Out</a></p></div><a class="pull-left" id="logo" href="index.php"'
           f' title="Support Center"><img src="logo.php" border="0" alt="Support Center"></a></div>\n<div id="content">'
           f'\n<table width="800" cellpadding="1" cellspacing="0" border="0" id="ticketInfo">\n    <tr><td colspan="2" '
           f'width="100%"><h1><a href="tickets.php?id={_e(t.provenance.id)}" title="Reload"><i class="refresh '
           f'icon-refresh"></i></a><b>{_e(t.subject)}</b><small>#{_e(t.number)}</small></h1></td></tr>\n'
           f'    <tr><td><table class="infoTable" cellspacing="1" cellpadding="3" width="100%" border="0">\n'
           f'        <thead><tr><td class="headline" colspan="2">Basic Ticket Information</td></tr></thead>\n'
           f'        <tr><th width="100">Ticket Status:</th><td>{_e(t.status)}</td></tr>\n'
           f'        <tr><th>Create Date:</th><td>{_e(t.created_at)}</td></tr>\n    '
           f'</table></td></tr>\n</table>\n<br>\n')
    bottom = ('<div class="clear" style="padding-bottom:10px;"></div>\n<form id="reply" action="tickets.php#reply" '
              'name="reply" method="post" enctype="multipart/form-data"><h2>Post a Reply</h2><textarea name="message"'
              ' id="message" cols="50" rows="9" class="richtext draft"></textarea><p style="text-align:center">'
              '<input type="submit" value="Post Reply"></p></form>\n</div>\n</div>\n')
    return _page(f"Support Center :: Ticket #{t.number}", top + "".join(out) + bottom, staff=False)


# -- print view ----------------------------------------------------------------------------------

def _print_entry(ctx: _Ctx, message: Message) -> str:
    etype = _entry_type(message)
    dt = _local(ctx, message.created_at)
    title = _short_title(message)
    parts = [f'<div class="thread-entry {_KIND_CLASS[etype]}">\n'
             f'    <table class="header" style="width:100%"><tr><td>\n'
             f'        <span>{_e(_short(dt)) if dt else ""}</span>\n'
             f'        <span style="padding:0 1em" class="faded title">{_e(title)}</span>\n'
             f'        </td>\n        <td class="flush-right faded title" style="white-space:no-wrap">\n'
             f'        {_e(_display_name(ctx, message))}</td>\n    </tr></table>\n'
             f'    <div class="thread-body">\n        <div>{_body_html(ctx, message, print_view=True)}</div>\n']
    files = _files(ctx, message)
    if files:
        parts.append('        <div class="info">\n')
        for att in files:
            parts.append(f'            <div><span>{_e(att.file_name)}</span> '
                         f'<span class="filesize faded">{_size(att.size)}</span></div>\n')
        parts.append('        </div>\n')
    parts.append('    </div>\n</div>\n')
    return "".join(parts)


def render_print_view(ticket: Ticket, messages: Sequence[Message], attachments: Iterable[Attachment] = (),
                      events: Iterable[Event] = (), options: RenderOptions | None = None) -> str:
    """The print view (``scp/tickets.php?id=N&a=print&notes=1&events=1``), before mPDF turns it into a PDF."""
    ctx = _context(ticket, messages, attachments, events, options)
    entries = [m for m in _ordered(ctx.messages) if ctx.opts.print_notes or _entry_type(m) != "N"]
    events_shown = list(ctx.events) if ctx.opts.print_events else []
    client_mode = version_tuple(ctx.markup.version) < version_tuple("1.16.6")
    t = ticket
    out = ['<div id="ticket_thread">\n']
    for what, item in _interleave(ctx, entries, events_shown):
        if what == "event":
            out.append(_event_html(ctx, item, client=client_mode))  # type: ignore[arg-type]
        else:
            out.append(_print_entry(ctx, item))  # type: ignore[arg-type]
    out.append('</div>\n')
    meta = "\n".join(f'    <tr><th>{k}:</th><td>{_e(str(v) if v is not None else "")}</td></tr>' for k, v in (
        ("Status", t.status), ("Priority", t.priority), ("Department", t.queue), ("Create Date", t.created_at)))
    head = (f'<htmlpageheader name="def" style="display:none"><table width="100%"><tr><td class="flush-left">'
            f'<img src="logo.php"></td><td class="flush-right">Support Center</td></tr></table></htmlpageheader>\n'
            f'<h1>Ticket #{_e(t.number)}</h1>\n<table class="meta-data" cellpadding="0" cellspacing="0">\n{meta}\n'
            f'</table>\n<h2>{_e(t.subject)}</h2>\n')
    return _page(f"Ticket #{t.number}", head + "".join(out), staff=True)


# -- entry point ---------------------------------------------------------------------------------

def _context(ticket: Ticket, messages: Sequence[Message], attachments: Iterable[Attachment], events: Iterable[Event],
             options: RenderOptions | None) -> _Ctx:
    opts = options or RenderOptions()
    return _Ctx(
        ticket=ticket,
        messages=list(messages),
        atts={a.key: a for a in attachments},
        events=[e for e in events if not e.annulled],
        opts=opts,
        markup=Markup.of(opts.version),
        tz=ZoneInfo(opts.timezone),
    )


def render(page_kind: str, ticket: Ticket, messages: Sequence[Message], attachments: Iterable[Attachment] = (),
           events: Iterable[Event] = (), options: RenderOptions | None = None) -> str:
    """Render one ticket as ``page_kind`` ("staff", "portal" or "print")."""
    renderers = {"staff": render_staff_page, "portal": render_portal_page, "print": render_print_view}
    try:
        fn = renderers[page_kind]
    except KeyError:
        raise ValueError(f"unknown page kind {page_kind!r}; expected one of {PAGE_KINDS}") from None
    return fn(ticket, messages, attachments, events, options)
