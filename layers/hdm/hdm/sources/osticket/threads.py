"""Messages (thread entries) and events of one ticket-id range, modern and legacy layouts."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

from hdm.model import Event, Message, MessageKind, Visibility, direction_of, key
from hdm.sources.osticket import lookups, names
from hdm.sources.osticket.bodies import as_written
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.flags import EntryFlag
from hdm.sources.osticket.inline import file_keys, match_inline_images
from hdm.sources.osticket.tickets import task_id
from hdm.sources.osticket.values import parse_json
from hdm.sources.osticket.versions import Layout
from hdm.threads.body import decode_entities

BODY_FILE_TYPES = ("text/html", "text/plain")
# plain ints: masking an int with an IntFlag member is slow on the hot path
_SYSTEM, _HIDDEN, _EDITED, _CHILD = (int(f) for f in (EntryFlag.SYSTEM, EntryFlag.HIDDEN, EntryFlag.EDITED,
                                                      EntryFlag.CHILD))

KINDS = {
    "M": (MessageKind.CUSTOMER, Visibility.PUBLIC),
    "R": (MessageKind.AGENT, Visibility.PUBLIC),
    "N": (MessageKind.AGENT, Visibility.INTERNAL),
}


def entry_visibility(entry_type: Optional[str], flags: int, owner_type: Optional[str]) -> Visibility:
    """Who may see an entry (and so its attachments): public only for M/R entries of a ticket thread."""
    if owner_type == "A":
        return Visibility.INTERNAL
    return kind_and_visibility(entry_type or "", flags)[1]


def kind_and_visibility(entry_type: str, flags: int) -> tuple[MessageKind, Visibility, bool]:
    """(kind, visibility, known): system notes are internal; an unknown type is internal (never leak)."""
    if flags & _SYSTEM:
        return MessageKind.SYSTEM, Visibility.INTERNAL, True
    if entry_type in KINDS:
        kind, vis = KINDS[entry_type]
        return kind, vis, True
    return MessageKind.AGENT, Visibility.INTERNAL, False


@dataclass
class EntryFile:
    attachment_id: str
    file_id: Optional[int]
    mime: str
    inline: bool
    bk: Optional[str]
    key: Optional[str]
    size: Optional[int]


def entry_files(ctx: Context, lo: int, hi: int) -> dict[int, list[EntryFile]]:
    """Attachment links of every entry of the tickets in [lo, hi], by entry id (metadata only)."""
    out: dict[int, list[EntryFile]] = defaultdict(list)
    if ctx.layout is Layout.MODERN:
        sql = (f"SELECT a.id, a.object_id AS entry_id, a.inline, f.id AS file_id, f.type, f.bk, f.`key`, f.size "
               f"FROM {ctx.t('thread')} h JOIN {ctx.t('thread_entry')} te ON te.thread_id = h.id "
               f"JOIN {ctx.t('attachment')} a ON a.type = 'H' AND a.object_id = te.id "
               f"LEFT JOIN {ctx.t('file')} f ON f.id = a.file_id "
               f"WHERE {_thread_scope(ctx)} ORDER BY a.id")
        args: tuple = _thread_args(ctx, lo, hi)
    else:
        sql = (f"SELECT a.attach_id AS id, a.ref_id AS entry_id, a.inline, f.id AS file_id, f.type, f.bk, f.`key`, "
               f"f.size FROM {ctx.t('ticket_attachment')} a LEFT JOIN {ctx.t('file')} f ON f.id = a.file_id "
               f"WHERE {legacy_scope(ctx, 'a.ticket_id')} ORDER BY a.attach_id")
        args = (lo, hi, lo, hi)
    for r in ctx.aux.stream(sql, args):
        out[int(r["entry_id"])].append(EntryFile(
            attachment_id=str(r["id"]), file_id=int(r["file_id"]) if r["file_id"] is not None else None,
            mime=(r["type"] or "").lower(), inline=bool(r["inline"]), bk=r["bk"], key=r["key"],
            size=int(r["size"]) if r["size"] is not None else None))
    return out


def is_body_storage(f: EntryFile, body_empty: bool) -> bool:
    """The inline text file that holds a ≥ 65,000-char body (notes §2.2)."""
    return body_empty and f.inline and f.mime in BODY_FILE_TYPES


def _thread_scope(ctx: Context) -> str:
    """Threads of tickets (T, merged children C) in the range, plus threads of their tasks (A)."""
    # threads whose ticket is gone (deleted tickets) are left out; discovery counts them as orphans
    scope = (f"(h.object_type IN ('T', 'C') AND h.object_id BETWEEN %s AND %s AND h.object_id IN "
             f"(SELECT ticket_id FROM {ctx.t('ticket')} WHERE ticket_id BETWEEN %s AND %s))")
    if ctx.has_table("task"):
        scope += (f" OR (h.object_type = 'A' AND h.object_id IN (SELECT k.id FROM {ctx.t('task')} k "
                  f"JOIN {ctx.t('ticket')} kt ON kt.ticket_id = k.object_id "
                  f"WHERE k.object_type = 'T' AND k.object_id BETWEEN %s AND %s))")
    return f"({scope})"


def _thread_args(ctx: Context, lo: int, hi: int) -> tuple:
    return (lo, hi, lo, hi, lo, hi) if ctx.has_table("task") else (lo, hi, lo, hi)


def legacy_scope(ctx: Context, column: str) -> str:
    """Legacy rows of the tickets in the range that still exist (args: lo, hi, lo, hi)."""
    return (f"{column} BETWEEN %s AND %s AND {column} IN (SELECT ticket_id FROM {ctx.t('ticket')} "
            f"WHERE ticket_id BETWEEN %s AND %s)")


def owner_key(object_type: str, object_id: int) -> str:
    if object_type == "A":
        return key("ticket", task_id(object_id))
    return key("ticket", object_id)


def _entry_lookups(ctx: Context, lo: int, hi: int) -> tuple[dict[int, list[EntryFile]], dict[int, str]]:
    return entry_files(ctx, lo, hi), (_merge_sources(ctx, lo, hi) if ctx.layout is Layout.MODERN else {})


def messages(ctx: Context, lo: int, hi: int) -> Iterator[Message]:
    staff = lookups.staff(ctx)
    side = ctx.aside(_entry_lookups, lo, hi)  # the server runs these alongside the main query below
    p = ctx.t
    if ctx.layout is Layout.MODERN:
        recipients = ctx.col("thread_entry", "te", "recipients")
        sql = (
            f"SELECT te.id, te.staff_id, te.user_id, te.type, te.flags, te.poster, te.source, te.title, te.body, "
            f"te.format, te.created, {recipients} AS recipients, h.object_type, h.object_id, "
            f"u.id AS user_found, u.name AS user_name, ue.address AS user_email, s.email AS staff_email, "
            f"s.firstname AS staff_first, s.lastname AS staff_last "
            f"FROM {p('thread')} h JOIN {p('thread_entry')} te ON te.thread_id = h.id "
            f"LEFT JOIN {p('user')} u ON u.id = te.user_id AND te.user_id <> 0 "
            f"LEFT JOIN {p('user_email')} ue ON ue.id = u.default_email_id "
            f"LEFT JOIN {p('staff')} s ON s.staff_id = te.staff_id AND te.staff_id <> 0 "
            f"WHERE {_thread_scope(ctx)} ORDER BY h.object_type, h.object_id, te.created, te.id")
        args = _thread_args(ctx, lo, hi)
    else:
        user_id = ctx.col("ticket_thread", "te", "user_id", default="0")
        fmt = ctx.col("ticket_thread", "te", "format", default="'text'")
        sql = (
            f"SELECT te.id, te.staff_id, {user_id} AS user_id, te.thread_type AS type, 0 AS flags, te.poster, "
            f"te.source, te.title, te.body, {fmt} AS format, te.created, NULL AS recipients, 'T' AS object_type, "
            f"te.ticket_id AS object_id, u.id AS user_found, u.name AS user_name, ue.address AS user_email, "
            f"s.email AS staff_email, s.firstname AS staff_first, s.lastname AS staff_last "
            f"FROM {p('ticket_thread')} te "
            f"LEFT JOIN {p('user')} u ON u.id = {user_id} AND {user_id} <> 0 "
            f"LEFT JOIN {p('user_email')} ue ON ue.id = u.default_email_id "
            f"LEFT JOIN {p('staff')} s ON s.staff_id = te.staff_id AND te.staff_id <> 0 "
            f"WHERE {legacy_scope(ctx, 'te.ticket_id')} ORDER BY te.ticket_id, te.created, te.id")
        args = (lo, hi, lo, hi)
    owner: Optional[tuple[str, int]] = None
    position = 0
    thread_files: dict[str, str] = {}  # file.key → attachment key of the current thread's entries so far
    table = "thread_entry" if ctx.layout is Layout.MODERN else "ticket_thread"
    entries = ctx.conn.stream(sql, args)
    first = next(entries, None)  # the main query is running on the server now
    files, merged_from = side.result()
    for r in itertools.chain((first,) if first is not None else (), entries):
        ctx.stats.read(table)
        flags = int(r["flags"] or 0)
        if flags & _HIDDEN:
            ctx.stats.skip("hidden_superseded_edit")
            continue
        this_owner = (r["object_type"], int(r["object_id"]))
        if this_owner != owner:
            owner, position = this_owner, 0
            thread_files = {}
        eid = int(r["id"])
        kind, vis, known = kind_and_visibility(r["type"] or "", flags)
        if r["object_type"] == "A":
            vis = Visibility.INTERNAL  # tasks are an agent-only feature: end users never see their threads
        m = Message(provenance=ctx.prov(table, eid), ticket=owner_key(*this_owner), position=position, kind=kind,
                    visibility=vis, direction=direction_of(kind, vis) if known else None,
                    title=stored_title(r["title"]), edited=bool(flags & _EDITED))
        position += 1
        if not known:
            m.flag("unknown_entry_type", f"entry type {r['type']!r} is not M/R/N; kept internal", field="kind")
        _author(ctx, m, r, staff)
        m.created_at = ctx.date(m, r, "created", "created_at")
        m.channel = (r["source"] or "").strip().lower() or None
        my_files = files.get(eid, [])
        body = r["body"]
        body_empty = body is None or body == ""
        if body_empty:
            body = _restore_body(ctx, m, my_files)
        if (r["format"] or "html").lower() == "text":
            m.body_format, m.body_text = "text", body
        else:
            m.body_format, m.body_html = "html", body
        m.attachments = [key("attachment", f.attachment_id) for f in my_files if not is_body_storage(f, body_empty)]
        own = file_keys(f for f in my_files if not is_body_storage(f, body_empty))
        as_written(m)  # osTicket's storage rules (escaped text, "-" for empty) stop here
        if m.body_format == "html":
            m.inline_images = match_inline_images(body, own, thread_files)[0]
        thread_files.update(own)
        rec = parse_json(r["recipients"])
        if isinstance(rec, dict):
            m.recipients = {str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in rec.items()}
        if flags & _CHILD:
            src = merged_from.get(eid)
            if src:
                m.merged_from = src
            else:
                m.flag("merge_source_unknown", "entry moved in from a merged ticket, but its origin is not recorded",
                       field="merged_from")
        ctx.text_flags(m, r)
        yield ctx.emit(m)


def _author(ctx: Context, m: Message, r: Any, staff: dict[int, str]) -> None:
    poster = r["poster"] or None
    uid, sid = int(r["user_id"] or 0), int(r["staff_id"] or 0)
    m.author_name = display_author(ctx, r, staff) or poster
    if m.kind is MessageKind.SYSTEM:
        return
    if r["type"] == "M" or (uid and not sid):
        if uid and r["user_found"] is not None:
            m.author = key("contact", uid)
            m.author_email = r["user_email"]
        elif uid:
            m.flag("dangling_fk", f"author user {uid} no longer exists; poster name kept", field="author")
        else:
            m.flag("unknown_author", "message from a sender with no user record; poster name kept",
                   field="author", severity="info")
        return
    if sid and sid in staff:
        m.author = key("agent", sid)
        m.author_email = r["staff_email"]
    elif sid:
        m.flag("dangling_fk", f"author agent {sid} no longer exists; poster name kept", field="author")
    else:
        m.flag("unknown_author", "agent entry without an agent; poster name kept", field="author", severity="info")


def display_author(ctx: Context, r: Any, staff: dict[int, str]) -> Optional[str]:
    """The name osTicket's ticket page prints over an entry: the linked user's, else the agent's, else the
    ``poster`` text (include/staff/templates/thread-entry.tmpl.php), each in the help desk's name format."""
    if int(r["user_id"] or 0) and r["user_found"] is not None:
        return names.user_name(r["user_name"], r["user_email"],
                               ctx.config.get("client_name_format") or names.USER_DEFAULT_FORMAT) or None
    sid = int(r["staff_id"] or 0)
    if sid and sid in staff:
        return names.agent_name(r["staff_first"], r["staff_last"],
                                ctx.config.get("agent_name_format") or names.AGENT_DEFAULT_FORMAT) or None
    return r["poster"] or None


def stored_title(title: Optional[str]) -> Optional[str]:
    """An entry title as the page shows it: osTicket stores it sanitized and entity-escaped ('&' as '&amp;') and
    prints it as stored, so each entity reads as its character; decoded here, once, for every consumer."""
    if not title:
        return None
    return decode_entities(title).strip() or None


def _restore_body(ctx: Context, m: Message, files: list[EntryFile]) -> Optional[str]:
    """Rebuild a ≥ 65,000-char body from the entry's inline text attachments (as osTicket's getBody does)."""
    parts = [f for f in files if is_body_storage(f, True)]
    if not parts:
        m.flag("empty_body", "entry body is empty and no inline body file exists", field="body")
        return None
    chunks: list[bytes] = []
    for f in parts:
        if f.file_id is None:
            m.flag("missing_file", "the body file row is gone", field="body", severity="error")
            continue
        data = b"".join(bytes(c) for (c,) in ctx.aux.stream_raw(
            f"SELECT filedata FROM {ctx.t('file_chunk')} WHERE file_id = %s ORDER BY chunk_id", (f.file_id,)))
        if f.size is not None and len(data) != f.size:
            m.flag("short_file", f"body file has {len(data)} of {f.size} bytes", field="body", severity="error")
        chunks.append(data)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    m.flag("body_from_attachment", "body restored from its inline body file (≥ 65,000 chars)", field="body",
           severity="info")
    return text


def _merge_sources(ctx: Context, lo: int, hi: int) -> dict[int, str]:
    """entry id → key of the merged child ticket it came from (thread_entry_merge + the child's thread)."""
    if not ctx.has_table("thread_entry_merge"):
        return {}
    rows = ctx.aux.fetch_all(
        f"SELECT m.thread_entry_id, m.data FROM {ctx.t('thread')} h "
        f"JOIN {ctx.t('thread_entry')} te ON te.thread_id = h.id "
        f"JOIN {ctx.t('thread_entry_merge')} m ON m.thread_entry_id = te.id "
        f"WHERE {_thread_scope(ctx)}", _thread_args(ctx, lo, hi))
    thread_of: dict[int, int] = {}
    for r in rows:
        data = parse_json(r["data"])
        if isinstance(data, dict) and str(data.get("thread", "")).isdigit():
            thread_of[int(r["thread_entry_id"])] = int(data["thread"])
    if not thread_of:
        return {}
    ids = sorted(set(thread_of.values()))
    owners: dict[int, str] = {}
    for i in range(0, len(ids), 1000):
        part = ids[i:i + 1000]
        marks = ", ".join(["%s"] * len(part))
        for r in ctx.aux.rows(f"SELECT id, object_type, object_id FROM {ctx.t('thread')} WHERE id IN ({marks})", part):
            owners[int(r["id"])] = owner_key("T" if r["object_type"] == "C" else r["object_type"], int(r["object_id"]))
    return {eid: owners[th] for eid, th in thread_of.items() if th in owners}


# -- events ------------------------------------------------------------------------------------

LEGACY_STATES = {"created", "closed", "reopened", "assigned", "transferred", "overdue"}


def events(ctx: Context, lo: int, hi: int) -> Iterator[Event]:
    names = lookups.event_names(ctx)
    staff = lookups.staff(ctx)
    if ctx.layout is Layout.MODERN:
        event_id = ctx.col("thread_event", "e", "event_id")
        state = ctx.col("thread_event", "e", "state")
        sql = (f"SELECT e.id, {event_id} AS event_id, {state} AS state, e.staff_id, e.team_id, e.dept_id, e.topic_id, "
               f"e.data, e.username, e.uid, e.uid_type, e.annulled, e.timestamp, h.object_type, h.object_id "
               f"FROM {ctx.t('thread')} h JOIN {ctx.t('thread_event')} e ON e.thread_id = h.id "
               f"WHERE {_thread_scope(ctx)} ORDER BY h.object_id, e.timestamp, e.id")
        args: tuple = _thread_args(ctx, lo, hi)
        table = "thread_event"
    elif ctx.has_table("ticket_event"):
        sql = (f"SELECT NULL AS id, NULL AS event_id, e.state, e.staff_id, e.team_id, e.dept_id, e.topic_id, "
               f"NULL AS data, e.staff AS username, NULL AS uid, 'S' AS uid_type, e.annulled, e.timestamp, "
               f"'T' AS object_type, e.ticket_id AS object_id FROM {ctx.t('ticket_event')} e "
               f"WHERE {legacy_scope(ctx, 'e.ticket_id')} ORDER BY e.ticket_id, e.timestamp")
        args = (lo, hi, lo, hi)
        table = "ticket_event"
    else:
        return
    seq: dict[int, int] = defaultdict(int)
    for r in ctx.conn.stream(sql, args):
        ctx.stats.read(table)
        oid = int(r["object_id"])
        if r["id"] is not None:
            ident = str(r["id"])
        else:  # legacy ticket_event has no id: ticket id + position
            ident = f"{oid}-{seq[oid]}"
            seq[oid] += 1
        name = names.get(int(r["event_id"])) if r["event_id"] is not None else None
        ev = Event(provenance=ctx.prov(table, ident), ticket=owner_key(r["object_type"], oid),
                   name=name or (r["state"] or "unknown"), actor_name=r["username"], annulled=bool(r["annulled"]))
        if name is None and r["event_id"] is not None:
            ev.flag("dangling_fk", f"event_id {r['event_id']} names no event", field="name")
        uid = int(r["uid"] or 0)
        if uid and r["uid_type"] == "S":
            ev.actor = key("agent", uid) if uid in staff else None
            if uid not in staff:
                ev.flag("dangling_fk", f"actor agent {uid} no longer exists", field="actor")
        elif uid and r["uid_type"] == "U":
            ev.actor = key("contact", uid)
        ev.at = ctx.date(ev, r, "timestamp", "at")
        data: dict[str, Any] = {}
        for col, obj in (("staff_id", "agent"), ("team_id", "team"), ("dept_id", "team"), ("topic_id", "category")):
            v = int(r[col] or 0)
            if v:
                ident_v: Any = f"team-{v}" if col == "team_id" else f"dept-{v}" if col == "dept_id" else v
                data[col.removesuffix("_id")] = key(obj, ident_v)
        parsed = parse_json(r["data"])
        if parsed is not None:
            data["details"] = parsed
        ev.data = data
        ctx.text_flags(ev, r)
        yield ctx.emit(ev)
