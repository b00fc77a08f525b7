"""Split a rendered osTicket thread (staff page, client portal page, print view) into canonical messages.

The path for when the database cannot be reached. It reads osTicket's own markup
(reference/notes/osticket.md §3): ``div.thread-entry.{message|response|note|system}`` inside the page's
thread container, the author in the header's ``<b>``, the time from ``time[datetime]`` (converted to
UTC), the body from ``div.thread-body > div``, attachment names from ``.attachments`` / ``.info``, the
badges (edited, collaborator, reply-all/-user, the merged-child ``icon-code-fork`` "Ticket #N") and the
interleaved ``div.thread-event`` events. It produces the same :class:`~hdm.model.Message` records as
the database path, plus a confidence score and the reasons behind it.

Anything whose visibility cannot be read for certain is INTERNAL: an unknown class never publishes.
Parsing uses selectolax (lexbor): on ~70 KiB staff pages it costs about as much as a bare lxml parse.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Optional
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from hdm.model import Event, Message, MessageKind, Provenance, Visibility, direction_of
from hdm.sources.osticket.bodies import as_written
from hdm.sources.osticket.rendered.markup import (
    EVENT_ICONS,
    KIND_CLASSES,
    KNOWN_EXTRA_CLASSES,
    PAGE_KINDS,
    PRINT_DATETIME_FORMATS,
    VersionMarkup,
)
from hdm.threads.confidence import Reason, score
from hdm.threads.segments import Segment, SplitResult

TicketResolver = Callable[[str], Optional[str]]
"""Maps a ticket *number* (from a merge badge) to its canonical ticket key, or None."""

_KIND = {
    "message": (MessageKind.CUSTOMER, Visibility.PUBLIC),
    "response": (MessageKind.AGENT, Visibility.PUBLIC),
    "note": (MessageKind.AGENT, Visibility.INTERNAL),
    "system": (MessageKind.SYSTEM, Visibility.INTERNAL),
}
_CONTAINERS = {
    "staff": ('#thread-items > div[id^="thread-entry-"] > div.thread-entry', "#thread-items > div.thread-event"),
    "portal": ('#ticketThread > div[id^="thread-entry-"] > div.thread-entry', "#ticketThread > div.thread-event"),
    "print": ("#ticket_thread > div.thread-entry", "#ticket_thread > div.thread-event"),
}
_LEGACY_STAFF = ("#ticket_thread > table.thread-entry", "#ticket_thread > div.thread-event")  # before 1.10
_WRAPPERS = {"staff": '#thread-items > div[id^="thread-entry-"]', "portal": '#ticketThread > div[id^="thread-entry-"]'}
_EMPTY_DISPLAY = "(empty)"
_SYSTEM_POSTER = "SYSTEM"


def detect_page_kind(tree: LexborHTMLParser) -> Optional[str]:
    """Which osTicket page this is, from its thread container."""
    if tree.css_first("#thread-items") is not None:
        return "staff"
    if tree.css_first('#ticketThread div.thread-body[id^="thread-id-"]') is not None:
        return "portal"
    if tree.css_first("#ticket_thread table.header") is not None:
        return "print"
    if tree.css_first("#ticketThread") is not None:
        return "portal"
    return None


def split_rendered(
    html: str,
    page_kind: str = "staff",
    version: str = "1.18",
    *,
    ticket: Optional[str] = None,
    expected_count: Optional[int] = None,
    display_tz: Optional[str] = None,
    resolve_ticket_number: TicketResolver | None = None,
    keep_source_html: bool = False,
) -> SplitResult:
    """Split one ticket's rendered thread into canonical messages and events, with a confidence score.

    ``page_kind`` is "staff", "portal", "print" or "auto". ``ticket`` is the canonical ticket key the
    messages belong to. ``expected_count`` (entries the page should hold, when known) is checked.
    ``display_tz`` is the viewer's timezone, needed only for the print view (its times have no offset).
    ``keep_source_html`` keeps each entry's rendered HTML on its segment (for review pages; costs time).
    """
    reasons: list[Reason] = []
    tree = LexborHTMLParser(html or "")
    original = original_fragment(tree, html or "")  # before reading the entries changes the tree
    if page_kind == "auto":
        page_kind = detect_page_kind(tree) or "staff"
    if page_kind not in PAGE_KINDS:
        raise ValueError(f"unknown page kind {page_kind!r}; expected one of {PAGE_KINDS} or 'auto'")
    markup = VersionMarkup.of(version)
    entry_sel, event_sel = _CONTAINERS[page_kind]
    if page_kind == "staff" and markup.table_layout:
        entry_sel, event_sel = _LEGACY_STAFF
    nodes = tree.css(entry_sel)
    if not nodes:
        loose = [n for n in tree.css("div.thread-entry, table.thread-entry") if not _inside_entry(n)]
        if loose:
            reasons.append(Reason.of("no_thread_container", f"no {page_kind} thread container"))
            reasons.append(Reason.of("loose_markup"))
            nodes = loose
    if page_kind in _WRAPPERS and not markup.table_layout:
        for wrapper in tree.css(_WRAPPERS[page_kind]):
            if wrapper.css_first("div.thread-entry") is None:
                reasons.append(Reason.of("unparseable_entry", entry=_wrapper_id(wrapper)))

    tz = _zone(display_tz)
    segments: list[Segment] = []
    for index, node in enumerate(nodes):
        seg = _read_entry(node, index, page_kind, markup, ticket, tz, display_tz is not None, reasons,
                          resolve_ticket_number, keep_source_html)
        segments.append(seg)
    if not segments and expected_count != 0:
        reasons.append(Reason.of("no_entries"))

    _check_ids(segments, reasons)
    _order(segments, reasons)
    if expected_count is not None and expected_count != len(segments):
        reasons.append(Reason.of("count_mismatch", f"found {len(segments)} entries, expected {expected_count}"))
    _check_version(nodes, page_kind, markup, reasons)
    events = [_read_event(n, ticket, version, index, reasons) for index, n in enumerate(tree.css(event_sel))]
    return SplitResult(
        ticket=ticket,
        page_kind=page_kind,
        version=version,
        segments=segments,
        events=events,
        confidence=score(reasons),
        reasons=reasons,
        original_html=original,
    )


def original_fragment(tree: LexborHTMLParser, page: str) -> str:
    """The thread part of a rendered page (the whole page when no thread container is found): what the review
    page shows as the original."""
    node = tree.css_first("#thread-items") or tree.css_first("#ticketThread") or tree.css_first("#ticket_thread")
    return node.html if node is not None else page


# -- entries -------------------------------------------------------------------------------------

def _inside_entry(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in ("div", "table") and "thread-entry" in _classes(parent):
            return True
        parent = parent.parent
    return False


def _classes(node: LexborNode) -> list[str]:
    return (node.attributes.get("class") or "").split()


def _wrapper_id(node: Optional[LexborNode]) -> Optional[str]:
    if node is None:
        return None
    ident = node.attributes.get("id") or ""
    return ident[len("thread-entry-"):] or None if ident.startswith("thread-entry-") else None


def _entry_id(node: LexborNode, page_kind: str) -> Optional[str]:
    found = _wrapper_id(node.parent)
    if found:
        return found
    body = node.css_first('div.thread-body[id^="thread-id-"], td.thread-body[id^="thread-id-"]')
    if body is not None:
        return (body.attributes.get("id") or "")[len("thread-id-"):] or None
    anchor = node.css_first('a[name^="entry-"]')
    if anchor is not None:
        return (anchor.attributes.get("name") or "")[len("entry-"):] or None
    return None


def _classify(classes: list[str], page_kind: str, author: Optional[str], entry: Optional[str],
              reasons: list[Reason]) -> tuple[MessageKind, Visibility]:
    kinds = [c for c in classes if c in KIND_CLASSES]
    unknown = [c for c in classes if c not in KIND_CLASSES and c not in KNOWN_EXTRA_CLASSES]
    if unknown:
        reasons.append(Reason.of("unknown_class", f"classes {sorted(unknown)}", entry))
    if page_kind == "portal" and "note" in kinds:
        reasons.append(Reason.of("note_on_portal", entry=entry))
    if page_kind == "portal" and "system" in kinds:
        reasons.append(Reason.of("system_on_portal", entry=entry))
    if not kinds:
        reasons.append(Reason.of("unknown_entry_class", f"classes {sorted(classes)}", entry))
        return MessageKind.AGENT, Visibility.INTERNAL
    if len(set(kinds)) > 1:
        reasons.append(Reason.of("conflicting_entry_class", f"classes {sorted(set(kinds))}", entry))
        if "system" in kinds:
            return MessageKind.SYSTEM, Visibility.INTERNAL
        return MessageKind.AGENT, Visibility.INTERNAL
    kind, visibility = _KIND[kinds[0]]
    if kinds[0] == "note" and (author or "").strip() == _SYSTEM_POSTER:
        kind = MessageKind.SYSTEM  # the print view and portal have no .system class
    return kind, visibility


def _read_entry(node: LexborNode, index: int, page_kind: str, markup: VersionMarkup, ticket: Optional[str],
                tz: ZoneInfo, tz_given: bool, reasons: list[Reason],
                resolve_ticket_number: TicketResolver | None, keep_source_html: bool) -> Segment:
    classes = _classes(node)
    entry_id = _entry_id(node, page_kind)
    label = entry_id or f"#{index + 1}"
    if node.tag == "table":
        header = node.css_first("th")
        author, created, title = _legacy_header(header, tz, tz_given, label, reasons)
    elif page_kind == "print":
        header = node.css_first("table.header")
        author, created, title = _print_header(header, tz, tz_given, label, reasons)
    else:
        header = node.css_first("div.header")
        author, created, title = _header(header, label, reasons)
    kind, visibility = _classify(classes, page_kind, author, label, reasons)
    badges = _badges(header)
    merged_number = badges.get("merged")
    merged_from = resolve_ticket_number(merged_number) if (merged_number and resolve_ticket_number) else None
    body_format, body_html, body_text = _body(node, label, reasons)
    names, ids = _attachments(node, page_kind == "print" or node.tag == "table")
    prov_id = entry_id if entry_id else f"{(ticket or 'ticket:?').partition(':')[2]}-{page_kind}-{index + 1}"
    message = Message(
        provenance=Provenance(system="osticket", object="thread_entry", id=prov_id, version=markup.version),
        ticket=ticket or "",
        position=index,
        kind=kind,
        visibility=visibility,
        direction=direction_of(kind, visibility),
        author_name=author,
        created_at=created,
        title=title,
        body_html=body_html,
        body_text=body_text,
        body_format=body_format,
        attachments=[f"attachment:{i}" for i in ids] if ids and len(ids) == len(names) else [],
        merged_from=merged_from,
        edited="edited" in badges,
    )
    for code in ("resent", "reply_all", "reply_user", "collaborator"):
        if code in badges:
            message.flag(code, f"osTicket badge: {code.replace('_', ' ')}", severity="info")
    if merged_number:
        message.flag("merged_child", f"entry moved in from merged ticket #{merged_number}", severity="info")
    if body_html == "-" or (body_format == "text" and body_text == "-"):
        message.flag("empty_body", "osTicket shows this entry as (empty)", field="body", severity="info")
    as_written(message)  # osTicket's storage rules (escaped text, "-" for empty) stop at the source
    for reason in reasons:
        if reason.entry == label and reason.penalty > 0:
            message.flag(f"split_{reason.code}", reason.detail)
    return Segment(
        message=message,
        entry_id=entry_id,
        classes=classes,
        attachment_names=names,
        attachment_ids=ids,
        merged_from_number=merged_number,
        source_html=(node.html or "") if keep_source_html else "",
    )


def _text(node: Optional[LexborNode]) -> str:
    return " ".join((node.text(deep=True) or "").split()) if node is not None else ""


def _header(header: Optional[LexborNode], label: str,
            reasons: list[Reason]) -> tuple[Optional[str], Optional[str], Optional[str]]:
    if header is None:
        reasons.append(Reason.of("missing_author", entry=label))
        reasons.append(Reason.of("missing_timestamp", entry=label))
        return None, None, None
    author = None
    time = None
    title = None
    for child in header.iter(include_text=False):  # b, a > time, span.title are children of div.header
        tag = child.tag
        if tag == "b" and author is None:
            author = _text(child) or None
        elif tag == "a" and time is None:
            time = child.css_first("time[datetime]")
        elif tag == "time" and time is None and child.attributes.get("datetime") is not None:
            time = child
        elif tag == "span" and title is None and "title" in _classes(child):
            title = _text(child) or None
    if time is None:
        time = header.css_first("time[datetime]")
    if author is None:
        reasons.append(Reason.of("missing_author", entry=label))
    created = _utc_from_w3c(time.attributes.get("datetime") or "") if time is not None else None
    if created is None:
        reasons.append(Reason.of("missing_timestamp", entry=label))
    if title is None:
        title = _text(header.css_first("span.title")) or None
    return author, created, title


def _print_header(header: Optional[LexborNode], tz: ZoneInfo, tz_given: bool, label: str,
                  reasons: list[Reason]) -> tuple[Optional[str], Optional[str], Optional[str]]:
    cells = header.css("td") if header is not None else []
    if not cells:
        reasons.append(Reason.of("missing_author", entry=label))
        reasons.append(Reason.of("missing_timestamp", entry=label))
        return None, None, None
    first = cells[0]
    date_node = first.css_first("span")
    created = _utc_from_local(_text(date_node), tz)
    _note_local_time(created, tz_given, label, reasons)
    title = _text(first.css_first("span.title")) or None
    author = _text(cells[-1]) if len(cells) > 1 else ""
    if not author:
        reasons.append(Reason.of("missing_author", entry=label))
    return author or None, created, title


def _legacy_header(header: Optional[LexborNode], tz: ZoneInfo, tz_given: bool, label: str,
                   reasons: list[Reason]) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """1.9.x ``th``: ``span.pull-left`` > date span + ``span.title``; ``span.tmeta`` author."""
    if header is None:
        reasons.append(Reason.of("missing_author", entry=label))
        reasons.append(Reason.of("missing_timestamp", entry=label))
        return None, None, None
    left = header.css_first("span.pull-left")
    date_node = next((c for c in left.iter(include_text=False) if c.tag == "span"), None) if left is not None else None
    created = _utc_from_local(_text(date_node), tz)
    _note_local_time(created, tz_given, label, reasons)
    title = _text(left.css_first("span.title")) if left is not None else ""
    author = _text(header.css_first("span.tmeta"))
    if not author:
        reasons.append(Reason.of("missing_author", entry=label))
    return author or None, created, title or None


def _note_local_time(created: Optional[str], tz_given: bool, label: str, reasons: list[Reason]) -> None:
    if created is None:
        reasons.append(Reason.of("missing_timestamp", entry=label))
        return
    if not tz_given and not any(r.code == "timestamp_without_offset" for r in reasons):
        reasons.append(Reason.of("timestamp_without_offset"))
    if not any(r.code == "timestamp_minute_precision" for r in reasons):
        reasons.append(Reason.of("timestamp_minute_precision"))


def _utc_from_w3c(value: str) -> Optional[str]:
    value = value.strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None  # a time without offset cannot be placed
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_from_local(value: str, tz: ZoneInfo) -> Optional[str]:
    value = value.strip()
    for fmt in PRINT_DATETIME_FORMATS:
        try:
            dt = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return dt.replace(tzinfo=tz).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _zone(name: Optional[str]) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown display timezone {name!r}") from exc


def _badges(header: Optional[LexborNode]) -> dict[str, Optional[str]]:
    found: dict[str, Optional[str]] = {}
    if header is None:
        return found
    for label in header.css("span.label"):
        text = _text(label).lower()
        if text == "edited":
            found["edited"] = None
        elif text == "resent":
            found["resent"] = None
        elif text in ("collaborator", "cc collaborator"):
            found["collaborator"] = None
        for icon in label.css("i"):
            icls = _classes(icon)
            if "icon-group" in icls:
                found["reply_all"] = None
            elif "icon-user" in icls:
                found["reply_user"] = None
            elif "icon-code-fork" in icls:
                title = (icon.attributes.get("title") or "").strip()
                number = title.rsplit("#", 1)[-1].strip() if "#" in title else title
                found["merged"] = number or "?"
    return found


def _body(node: LexborNode, label: str, reasons: list[Reason]) -> tuple[str, Optional[str], Optional[str]]:
    """(format, body_html, body_text) restored to the stored form: ``cid:`` images back, ``-`` for empty."""
    container = node.css_first("div.thread-body, td.thread-body")
    body = None
    if container is not None:
        for child in container.iter(include_text=False):
            if child.tag == "div" and not {"clear", "attachments", "info"} & set(_classes(child)):
                body = child
                break
    if body is None:
        reasons.append(Reason.of("missing_body", entry=label))
        return "html", None, None
    for img in body.css("img[data-cid]"):
        cid = img.attributes.get("data-cid") or ""
        img.attrs["src"] = f"cid:{cid}"
        del img.attrs["data-cid"]
    elements = [c for c in body.iter(include_text=False)]
    loose_text = "".join((c.text(deep=False) or "") for c in body.iter(include_text=True) if c.tag == "-text")
    if len(elements) == 1 and not loose_text.strip():
        only = elements[0]
        style = (only.attributes.get("style") or "").replace(" ", "").lower()
        if only.tag == "div" and style.startswith("white-space:pre-wrap"):
            reasons.append(Reason.of("text_format_inferred", entry=label))
            # back to the stored form: osTicket keeps plain text entity-escaped, and normalisation decodes it once
            return "text", None, html_lib.escape(only.text(deep=True) or "", quote=False)
    inner = body.inner_html or ""
    if inner.strip() == _EMPTY_DISPLAY:
        return "html", "-", None
    return "html", inner, None


def _attachments(node: LexborNode, print_view: bool) -> tuple[list[str], list[str]]:
    names: list[str] = []
    ids: list[str] = []
    for link in node.css("div.attachments a.filename"):
        names.append(_text(link) or (link.attributes.get("download") or ""))
        href = link.attributes.get("href") or ""
        if "id=" in href:
            query = parse_qs(urlsplit(href).query)
            if query.get("id"):
                ids.append(query["id"][0])
    if print_view and not names and node.tag == "table":  # 1.9.x: td.info > a
        for link in node.css("td.info a"):
            names.append(_text(link))
            href = link.attributes.get("href") or ""
            query = parse_qs(urlsplit(href).query) if "id=" in href else {}
            if query.get("id"):
                ids.append(query["id"][0])
    elif print_view and not names:
        for row in node.css("div.info > div"):
            first = row.css_first("span")
            if first is not None and _text(first):
                names.append(_text(first))
    return names, ids


def _check_ids(segments: list[Segment], reasons: list[Reason]) -> None:
    seen: set[str] = set()
    for seg in segments:
        if seg.entry_id is None:
            continue
        if seg.entry_id in seen:
            reasons.append(Reason.of("duplicate_entry_id", entry=seg.entry_id))
        seen.add(seg.entry_id)


def _sort_key(seg: Segment, index: int) -> tuple:
    entry = seg.entry_id or ""
    return (seg.message.created_at or "", int(entry) if entry.isdigit() else 0, index)


def _order(segments: list[Segment], reasons: list[Reason]) -> None:
    """Order as the database does (created, id); a newest-first page is turned around."""
    if all(s.message.created_at for s in segments):
        keyed = sorted(range(len(segments)), key=lambda i: _sort_key(segments[i], i))
        if keyed != list(range(len(segments))):
            reasons.append(Reason.of("out_of_order"))
            segments[:] = [segments[i] for i in keyed]
    for position, seg in enumerate(segments):
        seg.message.position = position


def _check_version(nodes: list[LexborNode], page_kind: str, markup: VersionMarkup, reasons: list[Reason]) -> None:
    if page_kind != "staff" or not nodes:
        return
    styles = {(n.attributes.get("style") or "").replace(" ", "") or None for n in nodes}
    expected = markup.entry_style.replace(" ", "") if markup.entry_style else None
    if styles != {expected}:
        reasons.append(Reason.of("version_markup_mismatch",
                                 f"entry style {sorted(s or '-' for s in styles)} on a page said to be "
                                 f"{markup.version}"))
    if not markup.merge_badge and any(n.css_first("i.icon-code-fork") is not None for n in nodes):
        reasons.append(Reason.of("version_markup_mismatch", f"merge badge on a page said to be {markup.version}"))


# -- events --------------------------------------------------------------------------------------

def _read_event(node: LexborNode, ticket: Optional[str], version: str, index: int, reasons: list[Reason]) -> Event:
    name = "unknown"
    icon = node.css_first("span.type-icon i")
    for cls in _classes(icon) if icon is not None else []:
        if cls.startswith("icon-") and cls[5:] in EVENT_ICONS:
            name = EVENT_ICONS[cls[5:]]
            break
    if name == "unknown":
        reasons.append(Reason.of("unknown_event"))
    description = node.css_first("span.description")
    actor = None
    if description is not None:
        bold = description.css_first("b")
        actor = _text(bold) or None
    time = node.css_first("time[datetime]")
    at = _utc_from_w3c(time.attributes.get("datetime") or "") if time is not None else None
    ticket_id = (ticket or "ticket:?").partition(":")[2]
    return Event(
        provenance=Provenance(system="osticket", object="thread_event", id=f"{ticket_id}-rendered-{index + 1}",
                              version=version),
        ticket=ticket,
        name=name,
        actor_name=actor,
        at=at,
        data={"description": _text(description)} if description is not None else {},
    )
