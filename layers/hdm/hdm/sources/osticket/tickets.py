"""Tickets (and their tasks) of one ticket-id range."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Optional

from hdm.model import StatusState, Ticket, key
from hdm.sources.osticket import lookups
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.flags import CollaboratorFlag, TaskFlag, TicketFlag
from hdm.sources.osticket.forms import answers_for, apply_problems
from hdm.sources.osticket.versions import Layout

STATE_MAP = {
    "open": StatusState.OPEN,
    "closed": StatusState.CLOSED,
    "resolved": StatusState.RESOLVED,
    "archived": StatusState.ARCHIVED,
    "deleted": StatusState.DELETED,
}

CHANNELS = {"web": "web", "email": "email", "phone": "phone", "api": "api", "other": "other"}


def state_of(raw: Optional[str]) -> Optional[StatusState]:
    return STATE_MAP.get((raw or "").strip().lower())


def task_id(task: int) -> str:
    """Tasks share the ticket key space: ``ticket:task-<id>``."""
    return f"task-{task}"


def tickets(ctx: Context, lo: int, hi: int) -> Iterator[Ticket]:
    side = ctx.aside(_side_lookups, lo, hi)  # the server runs these while this thread reads the answers
    answers = answers_for(ctx, "T", lo, hi)
    statuses = lookups.statuses(ctx)
    priorities = lookups.priorities(ctx)
    staff = lookups.staff(ctx)
    depts = lookups.departments(ctx)
    topics = lookups.topics(ctx)
    slas = lookups.slas(ctx)
    teams = lookups.teams(ctx)
    collaborators, counts, cdata, merged_children = side.result()
    default_pri = lookups.default_priority_id(ctx)
    p = ctx.t
    number = ctx.col("ticket", "t", "number", "ticketID")
    status_id = ctx.col("ticket", "t", "status_id")
    status_enum = ctx.col("ticket", "t", "status")
    ticket_pid = ctx.col("ticket", "t", "ticket_pid")
    tflags = ctx.col("ticket", "t", "flags", default="0")
    est_due = ctx.col("ticket", "t", "est_duedate")
    sql = (
        f"SELECT t.ticket_id, {number} AS number, t.user_id, {status_id} AS status_id, {status_enum} AS status_enum, "
        f"t.dept_id, t.sla_id, t.topic_id, t.staff_id, t.team_id, {ticket_pid} AS ticket_pid, {tflags} AS flags, "
        f"t.source, t.isoverdue, t.isanswered, t.duedate, {est_due} AS est_duedate, t.closed, t.created, t.updated, "
        f"u.id AS user_found, u.org_id, o.id AS org_found, pt.ticket_id AS parent_found "
        f"FROM {p('ticket')} t LEFT JOIN {p('user')} u ON u.id = t.user_id "
        f"LEFT JOIN {p('organization')} o ON o.id = u.org_id AND u.org_id <> 0 "
        f"LEFT JOIN {p('ticket')} pt ON pt.ticket_id = {ticket_pid if ticket_pid != 'NULL' else 'NULL'} "
        f"WHERE t.ticket_id BETWEEN %s AND %s ORDER BY t.ticket_id")
    for r in ctx.conn.stream(sql, (lo, hi)):
        ctx.stats.read("ticket")
        tid = int(r["ticket_id"])
        tk = Ticket(provenance=ctx.prov("ticket", tid), number=r["number"])
        ans = answers.get(tid)
        values: dict[str, Any] = dict(ans.values) if ans else {}
        subject = values.pop("subject", None)
        values.pop("priority", None)
        cd = cdata.get(tid, {})
        if subject is None and cd.get("subject"):
            subject = cd["subject"]
            tk.flag("from_cdata", "subject taken from ticket__cdata (no form answer)", field="subject")
        if subject is None:
            tk.flag("missing_subject", "ticket has no subject answer", field="subject")
        tk.subject = subject
        pri_id = ans.priority_id if ans else None
        if pri_id is None and str(cd.get("priority") or "").isdigit():
            pri_id = int(cd["priority"])
            tk.flag("from_cdata", "priority taken from ticket__cdata (no form answer)", field="priority")
        if pri_id is None and default_pri is not None:
            pri_id = default_pri
            tk.flag("default_priority", "no priority answer; osTicket's default_priority_id applies",
                    field="priority", severity="info")
        if pri_id is not None:
            if pri_id in priorities:
                tk.priority, _, tk.priority_urgency = priorities[pri_id]
            else:
                tk.flag("dangling_fk", f"priority {pri_id} names no priority", field="priority")
        tk.custom = values
        if ans:
            apply_problems(tk, ans)
        _status(tk, r, statuses)
        _requester(tk, r)
        sid, team_id = int(r["staff_id"] or 0), int(r["team_id"] or 0)
        tk.assignee = _ref(tk, "agent", sid, sid in staff, "assignee")
        tk.assignee_group = _ref(tk, "team", f"team-{team_id}" if team_id else 0, team_id in teams, "assignee_group")
        did = int(r["dept_id"] or 0)
        tk.queue = _ref(tk, "team", f"dept-{did}" if did else 0, did in depts, "queue")
        top = int(r["topic_id"] or 0)
        tk.category = _ref(tk, "category", top, top in topics, "category")
        sla = int(r["sla_id"] or 0)
        tk.sla_policy = _ref(tk, "sla_policy", sla, sla in slas, "sla_policy")
        tk.channel = CHANNELS.get((r["source"] or "").lower(), "other")
        tk.created_at = ctx.date(tk, r, "created", "created_at")
        tk.updated_at = ctx.date(tk, r, "updated", "updated_at")
        tk.closed_at = ctx.date(tk, r, "closed", "closed_at")
        tk.due_at = ctx.date(tk, r, "duedate", "due_at") or ctx.date(tk, r, "est_duedate", "due_at")
        tk.overdue = bool(r["isoverdue"])
        tk.answered = bool(r["isanswered"])
        _merge(tk, r, tid in merged_children)
        _collaborators_of(ctx, tk, collaborators.get(tid, []))
        tk.message_count = counts.get(tid, 0)
        ctx.text_flags(tk, r)
        yield ctx.emit(tk)
    if ctx.has_table("task"):
        yield from tasks(ctx, lo, hi)


def tasks(ctx: Context, lo: int, hi: int) -> Iterator[Ticket]:
    """Tasks of the tickets in [lo, hi] as Ticket(kind="task", parent=ticket key)."""
    owners = (f"SELECT k.id FROM {ctx.t('task')} k JOIN {ctx.t('ticket')} kt ON kt.ticket_id = k.object_id "
              f"WHERE k.object_type = 'T' AND k.object_id BETWEEN %s AND %s")
    answers = answers_for(ctx, "A", lo, hi, owners_sql=owners)
    staff = lookups.staff(ctx)
    depts = lookups.departments(ctx)
    teams = lookups.teams(ctx)
    for r in ctx.aux.rows(
        f"SELECT k.id, k.object_id, k.number, k.dept_id, k.staff_id, k.team_id, k.flags, k.duedate, k.closed, "
        f"k.created, k.updated FROM {ctx.t('task')} k JOIN {ctx.t('ticket')} kt ON kt.ticket_id = k.object_id "
        f"WHERE k.object_type = 'T' AND k.object_id BETWEEN %s AND %s ORDER BY k.id", (lo, hi)):
        ctx.stats.read("task")
        tk = Ticket(provenance=ctx.prov("task", task_id(int(r["id"]))), kind="task", number=r["number"],
                    parent=key("ticket", int(r["object_id"])), relation="task_of")
        ans = answers.get(int(r["id"]))
        vals = dict(ans.values) if ans else {}
        tk.subject = vals.pop("title", None)
        description = vals.pop("description", None)
        if description is not None:
            vals["description"] = description
        tk.custom = vals
        if ans:
            apply_problems(tk, ans)
        is_open = bool(int(r["flags"] or 0) & TaskFlag.OPEN)
        tk.status = "open" if is_open else "closed"
        tk.status_state = StatusState.OPEN if is_open else StatusState.CLOSED
        tk.overdue = bool(int(r["flags"] or 0) & TaskFlag.OVERDUE)
        sid, team_id, did = int(r["staff_id"] or 0), int(r["team_id"] or 0), int(r["dept_id"] or 0)
        tk.assignee = _ref(tk, "agent", sid, sid in staff, "assignee")
        tk.assignee_group = _ref(tk, "team", f"team-{team_id}" if team_id else 0, team_id in teams, "assignee_group")
        tk.queue = _ref(tk, "team", f"dept-{did}" if did else 0, did in depts, "queue")
        tk.created_at = ctx.date(tk, r, "created", "created_at")
        tk.updated_at = ctx.date(tk, r, "updated", "updated_at")
        tk.closed_at = ctx.date(tk, r, "closed", "closed_at")
        tk.due_at = ctx.date(tk, r, "duedate", "due_at")
        ctx.text_flags(tk, r)
        yield ctx.emit(tk)


# -- pieces -----------------------------------------------------------------------------------------

def _status(tk: Ticket, r: Any, statuses: dict[int, tuple[str, Optional[str]]]) -> None:
    if r["status_id"] is not None:
        sid = int(r["status_id"])
        if sid in statuses:
            tk.status, raw_state = statuses[sid]
            tk.status_state = state_of(raw_state)
        else:
            tk.flag("dangling_fk", f"status_id {sid} names no status", field="status")
    elif r["status_enum"]:
        tk.status = r["status_enum"]
        tk.status_state = state_of(r["status_enum"])


def _requester(tk: Ticket, r: Any) -> None:
    uid = int(r["user_id"] or 0)
    if uid and r["user_found"] is not None:
        tk.requester = key("contact", uid)
        org = int(r["org_id"] or 0)
        if org and r["org_found"] is not None:
            tk.organization = key("organization", org)
    elif uid:
        tk.flag("dangling_fk", f"user_id {uid} names no user; ticket has no requester", field="requester")
    else:
        tk.flag("missing_requester", "ticket has no user", field="requester")


def _ref(tk: Ticket, obj: str, ident: Any, exists: bool, field_name: str) -> Optional[str]:
    if not ident:
        return None
    if exists:
        return key(obj, ident)
    tk.flag("dangling_fk", f"{field_name} names a deleted {obj} ({ident})", field=field_name)
    return None


def _merge(tk: Ticket, r: Any, merged_thread: bool) -> None:
    pid = r["ticket_pid"]
    flags = int(r["flags"] or 0)
    if not pid:
        return
    if r["parent_found"] is None:
        tk.flag("dangling_fk", f"ticket_pid {pid} names no ticket", field="parent")
        return
    tk.parent = key("ticket", int(pid))
    if flags & (TicketFlag.COMBINE | TicketFlag.SEPARATE) or merged_thread:
        tk.relation = "merged"
        tk.flag("merged", "merged into its parent; its messages are extracted under the parent ticket",
                field="parent", severity="info")
    else:
        tk.relation = "linked"


def _side_lookups(ctx: Context, lo: int, hi: int) -> tuple[dict[int, list[dict[str, Any]]], dict[int, int],
                                                            dict[int, dict[str, Any]], set[int]]:
    """The per-chunk lookups of tickets that need nothing else: collaborators, counts, cdata, merged children."""
    return (_collaborators(ctx, lo, hi), _message_counts(ctx, lo, hi), _cdata(ctx, lo, hi),
            _merged_children(ctx, lo, hi))


# thread_collaborator.role (osTicket's install SQL: M => clients, N => 3rd party on notes, R => external authority)
COLLABORATOR_ROLES = {"M": "client (sees messages)", "N": "third party (internal notes)",
                      "R": "external authority (replies)"}


def _collaborators_of(ctx: Context, tk: Ticket, rows: list[dict[str, Any]]) -> None:
    """Collaborators (CCs) of a ticket: every row kept with its role and state; a deleted user is flagged."""
    for c in rows:
        ctx.stats.read(c["table"])  # counted here: the side thread that read it keeps no stats
        if not c["user_found"]:
            tk.flag("dangling_fk", f"collaborator user {c['user_id']} no longer exists: not carried",
                    field="collaborators")
            continue
        contact = key("contact", c["user_id"])
        if contact in tk.collaborators:
            continue
        tk.collaborators.append(contact)
        role = c["role"] or "M"
        tk.collaborator_details.append({
            "contact": contact, "role": role, "role_name": COLLABORATOR_ROLES.get(role, f"unknown role {role!r}"),
            "active": c["active"], "cc": c["cc"], "source_id": c["id"],
            "created_at": ctx.date(tk, {"created": c["created"]}, "created", "collaborators"),
        })


def _collaborators(ctx: Context, lo: int, hi: int) -> dict[int, list[dict[str, Any]]]:
    """Collaborator rows per ticket id (thread_collaborator 1.10+, ticket_collaborator 1.9), deleted users too."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ctx.layout is Layout.MODERN and ctx.has_table("thread_collaborator"):
        table = "thread_collaborator"
        flags = ctx.col(table, "c", "flags")
        active = ctx.col(table, "c", "isactive")
        sql = (f"SELECT c.id, h.object_id AS ticket_id, c.user_id, {flags} AS flags, {active} AS isactive, "
               f"{ctx.col(table, 'c', 'role')} AS role, c.created, u.id AS user_found FROM {ctx.t('thread')} h "
               f"JOIN {ctx.t(table)} c ON c.thread_id = h.id LEFT JOIN {ctx.t('user')} u ON u.id = c.user_id "
               f"WHERE h.object_type IN ('T', 'C') AND h.object_id BETWEEN %s AND %s ORDER BY c.id")
    elif ctx.has_table("ticket_collaborator"):
        table = "ticket_collaborator"
        sql = (f"SELECT c.id, c.ticket_id, c.user_id, NULL AS flags, {ctx.col(table, 'c', 'isactive')} AS isactive, "
               f"{ctx.col(table, 'c', 'role')} AS role, {ctx.col(table, 'c', 'created')} AS created, "
               f"u.id AS user_found "
               f"FROM {ctx.t(table)} c LEFT JOIN {ctx.t('user')} u ON u.id = c.user_id "
               f"WHERE c.ticket_id BETWEEN %s AND %s ORDER BY c.id")
    else:
        return out
    for r in ctx.aux.stream(sql, (lo, hi)):
        if r["flags"] is not None:
            active = bool(int(r["flags"]) & CollaboratorFlag.ACTIVE)
            cc = bool(int(r["flags"]) & CollaboratorFlag.CC)
        else:
            active = r["isactive"] is None or bool(int(r["isactive"]))
            cc = False
        out[int(r["ticket_id"])].append({
            "id": str(r["id"]), "table": table, "user_id": int(r["user_id"]),
            "user_found": r["user_found"] is not None,
            "role": (r["role"] or "M").strip().upper() or "M", "active": active, "cc": cc,
            "created": r["created"],
        })
    return out


def _message_counts(ctx: Context, lo: int, hi: int) -> dict[int, int]:
    if ctx.layout is Layout.MODERN:
        sql = (f"SELECT h.object_id AS ticket_id, COUNT(*) AS n FROM {ctx.t('thread')} h "
               f"JOIN {ctx.t('thread_entry')} te ON te.thread_id = h.id WHERE h.object_type IN ('T', 'C') "
               f"AND h.object_id BETWEEN %s AND %s AND (te.flags & 4) = 0 GROUP BY h.object_id")
    else:
        sql = (f"SELECT ticket_id, COUNT(*) AS n FROM {ctx.t('ticket_thread')} WHERE ticket_id BETWEEN %s AND %s "
               f"GROUP BY ticket_id")
    return {int(r["ticket_id"]): int(r["n"]) for r in ctx.aux.stream(sql, (lo, hi))}


def _cdata(ctx: Context, lo: int, hi: int) -> dict[int, dict[str, Any]]:
    if not ctx.has_table("ticket__cdata"):
        return {}
    cols = [c for c in ("subject", "priority") if ctx.has_col("ticket__cdata", c)]
    if not cols:
        return {}
    rows = ctx.aux.stream(f"SELECT ticket_id, {', '.join(cols)} FROM {ctx.t('ticket__cdata')} "
                        f"WHERE ticket_id BETWEEN %s AND %s", (lo, hi))
    return {int(r["ticket_id"]): dict(r) for r in rows}


def _merged_children(ctx: Context, lo: int, hi: int) -> set[int]:
    if ctx.layout is not Layout.MODERN:
        return set()
    return {int(r["object_id"]) for r in ctx.aux.stream(
        f"SELECT object_id FROM {ctx.t('thread')} WHERE object_type = 'C' AND object_id BETWEEN %s AND %s", (lo, hi))}
