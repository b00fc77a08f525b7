"""Organizations, contacts (users), agents (staff) and teams (departments + teams)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from hdm.model import Agent, Contact, Organization, Team, TeamKind, key
from hdm.sources.osticket import lookups
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.flags import DeptFlag, TeamFlag, UserStatus
from hdm.sources.osticket.forms import answers_for, apply_problems

ORG_CORE_FIELDS = {"address", "phone", "website", "notes", "name"}
USER_CORE_FIELDS = {"phone", "notes", "name", "email"}


def organizations(ctx: Context, lo: int, hi: int) -> Iterator[Organization]:
    answers = answers_for(ctx, "O", lo, hi)
    # names shared by several organizations (compared as osTicket's collation does: case-insensitive)
    first_of = {r["norm"]: int(r["first_id"]) for r in ctx.aux.rows(
        f"SELECT LOWER(TRIM(name)) AS norm, MIN(id) AS first_id FROM {ctx.t('organization')} "
        f"GROUP BY LOWER(TRIM(name)) HAVING COUNT(*) > 1")}
    for r in ctx.conn.stream(
        f"SELECT id, name, manager, status, domain, created, updated FROM {ctx.t('organization')} "
        f"WHERE id BETWEEN %s AND %s ORDER BY id", (lo, hi)):
        ctx.stats.read("organization")
        org = Organization(provenance=ctx.prov("organization", r["id"]), name=r["name"] or "")
        org.domains = [d.strip() for d in (r["domain"] or "").split(",") if d.strip()]
        org.created_at = ctx.date(org, r, "created", "created_at", utc=True)
        org.updated_at = ctx.date(org, r, "updated", "updated_at", utc=True)
        ans = answers.get(int(r["id"]))
        if ans:
            vals = dict(ans.values)
            org.address = _str(vals.pop("address", None))
            org.phone = _str(vals.pop("phone", None))
            org.website = _str(vals.pop("website", None))
            org.notes = _str(vals.pop("notes", None))
            vals.pop("name", None)
            org.custom = vals
            apply_problems(org, ans)
        if r["manager"]:
            org.custom["account_manager"] = _manager_key(r["manager"])
        if not org.name.strip():
            org.flag("empty_name", "organization has no name")
        elif org.name.strip().lower() in first_of:
            first = first_of[org.name.strip().lower()]
            org.flag("duplicate_name", f"another organization has the same name; first is organization:{first}",
                     field="name")
        ctx.text_flags(org, r)
        yield ctx.emit(org)


def contacts(ctx: Context, lo: int, hi: int) -> Iterator[Contact]:
    answers = answers_for(ctx, "U", lo, hi)
    emails: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in ctx.aux.rows(f"SELECT id, user_id, address FROM {ctx.t('user_email')} WHERE user_id BETWEEN %s AND %s "
                          f"ORDER BY user_id, id", (lo, hi)):
        emails[int(r["user_id"])].append((int(r["id"]), r["address"] or ""))
    ctx.stats.read("user_email", sum(len(v) for v in emails.values()))
    locked: set[int] = set()
    if ctx.has_table("user_account"):
        for r in ctx.aux.rows(f"SELECT user_id, status FROM {ctx.t('user_account')} WHERE user_id BETWEEN %s AND %s",
                              (lo, hi)):
            if int(r["status"] or 0) & 0x2:
                locked.add(int(r["user_id"]))
    for r in ctx.conn.stream(
        f"SELECT u.id, u.org_id, u.default_email_id, u.status, u.name, u.created, u.updated, o.id AS org_found "
        f"FROM {ctx.t('user')} u LEFT JOIN {ctx.t('organization')} o ON o.id = u.org_id "
        f"WHERE u.id BETWEEN %s AND %s ORDER BY u.id", (lo, hi)):
        ctx.stats.read("user")
        uid = int(r["id"])
        c = Contact(provenance=ctx.prov("user", uid), name=r["name"] or "")
        mine = emails.get(uid, [])
        default_id = int(r["default_email_id"] or 0)
        primary = next((a for i, a in mine if i == default_id), None)
        if primary is None and mine:
            primary = mine[0][1]
            c.flag("dangling_fk", "default_email_id does not name one of the user's addresses; used the first",
                   field="email")
        if primary is None:
            c.flag("missing_email", "user has no email address", field="email")
        c.email = primary
        c.other_emails = [a for _, a in mine if a != primary]
        org_id = int(r["org_id"] or 0)
        if org_id and r["org_found"] is not None:
            c.organization = key("organization", org_id)
            c.organizations = [c.organization]  # osTicket links a user to one organization
        elif org_id:
            c.flag("dangling_fk", f"org_id {org_id} names no organization; contact left without one",
                   field="organization")
        c.is_primary_org_contact = bool(int(r["status"] or 0) & UserStatus.PRIMARY_ORG_CONTACT)
        c.active = uid not in locked
        c.created_at = ctx.date(c, r, "created", "created_at")
        c.updated_at = ctx.date(c, r, "updated", "updated_at")
        ans = answers.get(uid)
        if ans:
            vals = dict(ans.values)
            c.phone = _str(vals.pop("phone", None))
            for core in ("name", "email"):
                vals.pop(core, None)
            c.custom = vals
            apply_problems(c, ans)
        ctx.text_flags(c, r)
        yield ctx.emit(c)


def agents(ctx: Context, lo: int, hi: int) -> Iterator[Agent]:
    access: dict[int, list[int]] = defaultdict(list)
    if ctx.has_table("staff_dept_access"):
        for r in ctx.aux.rows(f"SELECT staff_id, dept_id FROM {ctx.t('staff_dept_access')} ORDER BY staff_id, dept_id"):
            access[int(r["staff_id"])].append(int(r["dept_id"]))
    team_of: dict[int, list[int]] = defaultdict(list)
    if ctx.has_table("team_member"):
        for r in ctx.aux.rows(f"SELECT team_id, staff_id FROM {ctx.t('team_member')} ORDER BY staff_id, team_id"):
            team_of[int(r["staff_id"])].append(int(r["team_id"]))
    depts = lookups.departments(ctx)
    team_names = lookups.teams(ctx)
    created = ctx.col("staff", "s", "created")
    for r in ctx.conn.stream(
        f"SELECT s.staff_id, s.dept_id, s.username, s.firstname, s.lastname, s.email, s.phone, s.isactive, s.isadmin, "
        f"{created} AS created FROM {ctx.t('staff')} s WHERE s.staff_id BETWEEN %s AND %s ORDER BY s.staff_id",
        (lo, hi)):
        ctx.stats.read("staff")
        sid = int(r["staff_id"])
        a = Agent(provenance=ctx.prov("staff", sid), username=r["username"], first_name=r["firstname"] or "",
                  last_name=r["lastname"] or "", email=r["email"] or None, phone=r["phone"] or None,
                  active=bool(r["isactive"]), admin=bool(r["isadmin"]))
        dept_id = int(r["dept_id"] or 0)
        if dept_id in depts:
            a.queue = key("team", f"dept-{dept_id}")
        elif dept_id:
            a.flag("dangling_fk", f"primary dept_id {dept_id} names no department", field="queue")
        all_depts = ([dept_id] if dept_id in depts else []) + [d for d in access.get(sid, []) if d != dept_id]
        missing = [d for d in all_depts if d not in depts]
        a.queues = [key("team", f"dept-{d}") for d in all_depts if d in depts]
        if missing:
            a.flag("dangling_fk", f"{len(missing)} department access rows name no department", field="queues")
        a.groups = [key("team", f"team-{t}") for t in team_of.get(sid, []) if t in team_names]
        if not a.email:
            a.flag("missing_email", "agent has no email address; cannot be matched to a destination user",
                   field="email")
        a.created_at = ctx.date(a, r, "created", "created_at")
        ctx.text_flags(a, r)
        yield ctx.emit(a)


def teams(ctx: Context, lo: int, hi: int) -> Iterator[Team]:
    """Departments (kind queue) and teams (kind group) whose own id is in [lo, hi]."""
    staff = lookups.staff(ctx)
    members: dict[int, set[int]] = defaultdict(set)
    for r in ctx.aux.rows(f"SELECT staff_id, dept_id FROM {ctx.t('staff')}"):
        members[int(r["dept_id"] or 0)].add(int(r["staff_id"]))
    if ctx.has_table("staff_dept_access"):
        for r in ctx.aux.rows(f"SELECT staff_id, dept_id FROM {ctx.t('staff_dept_access')}"):
            members[int(r["dept_id"])].add(int(r["staff_id"]))
    idc = ctx.col("department", "d", "id", "dept_id")
    name = ctx.col("department", "d", "name", "dept_name")
    pid = ctx.col("department", "d", "pid")
    flags = ctx.col("department", "d", "flags", default="4")
    rows = ctx.aux.rows(
        f"SELECT {idc} AS id, {name} AS name, {pid} AS pid, d.sla_id, d.manager_id, {flags} AS flags, d.ispublic "
        f"FROM {ctx.t('department')} d WHERE {idc} BETWEEN %s AND %s ORDER BY {idc}", (lo, hi))
    for r in rows:
        ctx.stats.read("department")
        did = int(r["id"])
        f = int(r["flags"] if r["flags"] is not None else DeptFlag.ACTIVE)
        team = Team(provenance=ctx.prov("department", f"dept-{did}"), kind=TeamKind.QUEUE, name=r["name"] or "",
                    public=bool(r["ispublic"]), active=bool(f & DeptFlag.ACTIVE), archived=bool(f & DeptFlag.ARCHIVED))
        if r["pid"]:
            team.parent = key("team", f"dept-{int(r['pid'])}")
        team.members = [key("agent", s) for s in sorted(members.get(did, ())) if s in staff]
        _set_manager(team, int(r["manager_id"] or 0), staff)
        if r["sla_id"]:
            team.sla_policy = key("sla_policy", int(r["sla_id"]))
        ctx.text_flags(team, r)
        yield ctx.emit(team)
    if not ctx.has_table("team"):
        return
    team_members: dict[int, list[int]] = defaultdict(list)
    for r in ctx.aux.rows(f"SELECT team_id, staff_id FROM {ctx.t('team_member')} ORDER BY team_id, staff_id"):
        team_members[int(r["team_id"])].append(int(r["staff_id"]))
    tflags = ctx.col("team", "t", "flags", default="1")
    for r in ctx.aux.rows(f"SELECT t.team_id, t.lead_id, t.name, {tflags} AS flags FROM {ctx.t('team')} t "
                          f"WHERE t.team_id BETWEEN %s AND %s ORDER BY t.team_id", (lo, hi)):
        ctx.stats.read("team")
        tid = int(r["team_id"])
        team = Team(provenance=ctx.prov("team", f"team-{tid}"), kind=TeamKind.GROUP, name=r["name"] or "",
                    active=bool(int(r["flags"] or 0) & TeamFlag.ENABLED))
        listed = team_members.get(tid, [])
        team.members = [key("agent", s) for s in listed if s in staff]
        if len(team.members) < len(listed):
            team.flag("dangling_fk", f"{len(listed) - len(team.members)} team members name no agent", field="members")
        _set_manager(team, int(r["lead_id"] or 0), staff)
        ctx.text_flags(team, r)
        yield ctx.emit(team)


def _set_manager(team: Team, staff_id: int, staff: dict[int, str]) -> None:
    if not staff_id:
        return
    if staff_id in staff:
        team.manager = key("agent", staff_id)
    else:
        team.flag("dangling_fk", f"manager {staff_id} names no agent", field="manager")


def _manager_key(raw: str) -> str | None:
    if raw.startswith("s") and raw[1:].isdigit():
        return key("agent", raw[1:])
    if raw.startswith("t") and raw[1:].isdigit():
        return key("team", f"team-{raw[1:]}")
    return None


def _str(v: object) -> str | None:
    if v is None or v == "":
        return None
    return str(v)
