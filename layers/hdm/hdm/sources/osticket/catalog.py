"""Configuration objects: SLA plans, help topics, statuses, priorities, custom-field definitions, response
templates, automation rules (inventory only) and the knowledge base."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from hdm.model import (
    ArticleState,
    AutomationRule,
    Category,
    CustomFieldDef,
    KbArticle,
    KbCategory,
    Priority,
    ResponseTemplate,
    SlaPolicy,
    Status,
    TeamKind,
    key,
)
from hdm.sources.osticket import lookups
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.flags import FieldFlag, SlaFlag, TopicFlag
from hdm.sources.osticket.tickets import state_of
from hdm.sources.osticket.values import PRESENTATION_ONLY_TYPES, canonical_field_type, parse_choices_config, parse_json

FORM_TARGETS = {"T": "ticket", "G": "ticket", "U": "contact", "O": "organization", "C": "organization", "A": "task"}
CORE_FIELDS = {"ticket": {"subject", "message", "priority"}, "contact": {"name", "email"},
               "organization": {"name"}, "task": {"title", "description"}}


def sla_policies(ctx: Context, lo: int, hi: int) -> Iterator[SlaPolicy]:
    flags = ctx.col("sla", "s", "flags", default="NULL")
    active = ctx.col("sla", "s", "isactive", default="NULL")
    sched = ctx.col("sla", "s", "schedule_id", default="0")
    schedules = _schedules(ctx)
    for r in ctx.aux.rows(f"SELECT s.id, s.name, s.grace_period, s.notes, {flags} AS flags, {active} AS isactive, "
                          f"{sched} AS schedule_id FROM {ctx.t('sla')} s WHERE s.id BETWEEN %s AND %s ORDER BY s.id",
                          (lo, hi)):
        ctx.stats.read("sla")
        f = r["flags"]
        is_active = bool(int(f) & SlaFlag.ACTIVE) if f is not None else bool(r["isactive"] if r["isactive"]
                                                                             is not None else 1)
        sla = SlaPolicy(provenance=ctx.prov("sla", r["id"]), name=r["name"] or "",
                        grace_period_hours=float(r["grace_period"] or 0), active=is_active, notes=r["notes"] or None)
        sid = int(r["schedule_id"] or 0)
        if sid:
            sla.schedule = schedules.get(sid)
            if sla.schedule is None:
                sla.flag("dangling_fk", f"schedule {sid} names no schedule", field="schedule")
        sla.flag("no_first_response_window", "osTicket SLA plans have one window (grace period, hours): the "
                 "resolution due time; there is no first-response window", field="first_response_hours",
                 severity="info")
        ctx.text_flags(sla, r)
        yield ctx.emit(sla)


def categories(ctx: Context, lo: int, hi: int) -> Iterator[Category]:
    """Help topics (hierarchical via topic_pid) as categories."""
    flags = ctx.col("help_topic", "h", "flags", default="NULL")
    active = ctx.col("help_topic", "h", "isactive", default="NULL")
    pri = lookups.priorities(ctx)
    depts, slas, staff, teams = lookups.departments(ctx), lookups.slas(ctx), lookups.staff(ctx), lookups.teams(ctx)
    for r in ctx.aux.rows(
            f"SELECT h.topic_id, h.topic_pid, h.topic, h.ispublic, h.priority_id, h.dept_id, h.staff_id, h.team_id, "
            f"h.sla_id, {flags} AS flags, {active} AS isactive FROM {ctx.t('help_topic')} h "
            f"WHERE h.topic_id BETWEEN %s AND %s ORDER BY h.topic_id", (lo, hi)):
        ctx.stats.read("help_topic")
        f = r["flags"]
        is_active = bool(int(f) & TopicFlag.ACTIVE) if f is not None else bool(r["isactive"] if r["isactive"]
                                                                               is not None else 1)
        ht = Category(provenance=ctx.prov("help_topic", r["topic_id"]), name=r["topic"] or "",
                      public=bool(r["ispublic"]), active=is_active)
        if r["topic_pid"]:
            ht.parent = key("category", int(r["topic_pid"]))
        _link(ht, "queue", "team", int(r["dept_id"] or 0), depts, "dept-")
        _link(ht, "sla_policy", "sla_policy", int(r["sla_id"] or 0), slas)
        _link(ht, "assignee", "agent", int(r["staff_id"] or 0), staff)
        _link(ht, "assignee_group", "team", int(r["team_id"] or 0), teams, "team-")
        pid = int(r["priority_id"] or 0)
        if pid:
            if pid in pri:
                ht.priority = pri[pid][0]
            else:
                ht.flag("dangling_fk", f"priority {pid} names no priority", field="priority")
        ctx.text_flags(ht, r)
        yield ctx.emit(ht)


def statuses(ctx: Context, lo: int, hi: int) -> Iterator[Status]:
    for r in ctx.aux.rows(f"SELECT id, name, state FROM {ctx.t('ticket_status')} WHERE id BETWEEN %s AND %s "
                          f"ORDER BY id", (lo, hi)):
        ctx.stats.read("ticket_status")
        st = Status(provenance=ctx.prov("ticket_status", r["id"]), name=r["name"] or "", state=state_of(r["state"]))
        if st.state is None:
            st.flag("unknown_state", f"status state {r['state']!r} is not a known osTicket state", field="state")
        yield ctx.emit(st)


def priorities(ctx: Context, lo: int, hi: int) -> Iterator[Priority]:
    for r in ctx.aux.rows(f"SELECT priority_id, priority, priority_desc, priority_urgency FROM "
                          f"{ctx.t('ticket_priority')} WHERE priority_id BETWEEN %s AND %s ORDER BY priority_id",
                          (lo, hi)):
        ctx.stats.read("ticket_priority")
        yield ctx.emit(Priority(provenance=ctx.prov("ticket_priority", r["priority_id"]), name=r["priority"] or "",
                                label=r["priority_desc"] or "", urgency=r["priority_urgency"]))


def custom_fields(ctx: Context, lo: int, hi: int) -> Iterator[CustomFieldDef]:
    fields = lookups.form_fields(ctx)
    ctx.stats.read("form_field", sum(1 for fid in fields if lo <= fid <= hi))
    for fid in sorted(f for f in fields if lo <= f <= hi):
        info = fields[fid]
        if info.type in PRESENTATION_ONLY_TYPES:
            ctx.stats.skip("presentation_only_field")
            continue
        form_type = info.form_type or ""
        if form_type.startswith("L"):
            ctx.stats.skip("list_property_field")
            continue
        target = FORM_TARGETS.get(form_type, "ticket")
        d = CustomFieldDef(provenance=ctx.prov("form_field", fid), target=target, name=info.key, label=info.label,
                           type=canonical_field_type(info.type, info.config), source_type=info.type,
                           required_for_customer=bool(info.flags & FieldFlag.CLIENT_REQUIRED),
                           required_for_agent=bool(info.flags & FieldFlag.AGENT_REQUIRED),
                           visible_to_customer=bool(info.flags & FieldFlag.CLIENT_VIEW),
                           enabled=(bool(info.flags & FieldFlag.ENABLED) and bool(info.form_type)
                                    and not info.form_deleted),
                           form=info.form_title)
        if info.type == "choices":
            d.choices = parse_choices_config(info.config.get("choices"))
        elif info.type.startswith("list-"):
            d.choices = _list_choices(ctx, info.type[5:])
        if info.form_type is None or info.form_id == 0:
            d.flag("orphaned_field", "field was deleted from its form; answers may remain", field="form",
                   severity="info")
        elif info.form_deleted:
            d.flag("orphaned_field", "the field's form was deleted", field="form", severity="info")
        if info.name in CORE_FIELDS.get(target, ()):
            d.flag("core_field", "osTicket core field: maps to a standard destination field, not a custom one",
                   severity="info")
        if form_type == "G":
            d.flag("help_topic_form", "field of a help-topic form: only tickets of those topics carry it",
                   field="form", severity="info")
        yield ctx.emit(d)


def response_templates(ctx: Context, lo: int, hi: int) -> Iterator[ResponseTemplate]:
    depts = lookups.departments(ctx)
    att: dict[int, list[str]] = defaultdict(list)
    if ctx.has_table("attachment"):
        for r in ctx.aux.rows(f"SELECT id, object_id FROM {ctx.t('attachment')} WHERE type = 'C'"):
            att[int(r["object_id"])].append(key("attachment", r["id"]))
    if ctx.has_table("canned_response"):
        for r in ctx.aux.rows(f"SELECT canned_id, dept_id, isenabled, title, response FROM {ctx.t('canned_response')} "
                              f"WHERE canned_id BETWEEN %s AND %s ORDER BY canned_id", (lo, hi)):
            ctx.stats.read("canned_response")
            rt = ResponseTemplate(provenance=ctx.prov("canned_response", f"canned-{r['canned_id']}"),
                                  title=r["title"] or "", body_html=r["response"], active=bool(r["isenabled"]),
                                  kind="canned_response", attachments=att.get(int(r["canned_id"]), []))
            _link(rt, "queue", "team", int(r["dept_id"] or 0), depts, "dept-")
            ctx.text_flags(rt, r)
            yield ctx.emit(rt)
    if ctx.has_table("email_template"):
        for r in ctx.aux.rows(
                f"SELECT e.id, e.code_name, e.subject, e.body, g.name AS group_name, g.isactive, g.lang "
                f"FROM {ctx.t('email_template')} e LEFT JOIN {ctx.t('email_template_group')} g ON g.tpl_id = e.tpl_id "
                f"WHERE e.id BETWEEN %s AND %s ORDER BY e.id", (lo, hi)):
            ctx.stats.read("email_template")
            title = f"{r['group_name'] or 'templates'} / {r['code_name']}"
            rt = ResponseTemplate(provenance=ctx.prov("email_template", f"email_template-{r['id']}"), title=title,
                                  body_html=r["body"], active=bool(r["isactive"]), kind="email_template")
            if r["subject"]:
                rt.title = f"{title}: {r['subject']}"
            ctx.text_flags(rt, r)
            yield ctx.emit(rt)


def automation_rules(ctx: Context, lo: int, hi: int) -> Iterator[AutomationRule]:
    """Filters (rules + actions), SLA plans, help-topic routing and department routing: inventory only."""
    rules: dict[int, list[dict[str, Any]]] = defaultdict(list)
    actions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ctx.has_table("filter"):
        for r in ctx.aux.rows(f"SELECT filter_id, what, how, val, isactive FROM {ctx.t('filter_rule')} ORDER BY id"):
            rules[int(r["filter_id"])].append({"what": r["what"], "how": r["how"], "value": r["val"],
                                               "active": bool(r["isactive"])})
        if ctx.has_table("filter_action"):
            for r in ctx.aux.rows(f"SELECT filter_id, type, configuration FROM {ctx.t('filter_action')} "
                                  f"ORDER BY filter_id, sort, id"):
                cfg = parse_json(r["configuration"])
                actions[int(r["filter_id"])].append({"type": r["type"], "configuration": cfg if cfg is not None
                                                     else r["configuration"]})
        for r in ctx.aux.rows(f"SELECT id, name, execorder, isactive, match_all_rules, stop_onmatch, target, notes "
                              f"FROM {ctx.t('filter')} WHERE id BETWEEN %s AND %s ORDER BY execorder, id", (lo, hi)):
            ctx.stats.read("filter")
            fid = int(r["id"])
            rule = AutomationRule(provenance=ctx.prov("filter", f"filter-{fid}"), kind="filter", name=r["name"] or "",
                                  active=bool(r["isactive"]), definition={
                                      "order": r["execorder"], "target": r["target"],
                                      "match": "all" if r["match_all_rules"] else "any",
                                      "stop_on_match": bool(r["stop_onmatch"]), "rules": rules.get(fid, []),
                                      "actions": actions.get(fid, []), "notes": r["notes"] or None})
            if not rules.get(fid):
                rule.flag("no_rules", "filter has no rules (it never matches)", severity="info")
            yield ctx.emit(rule)
    for sla in sla_policies(ctx, lo, hi):
        ctx.stats.yielded["sla_policy"] -= 1  # counted as the automation rule below, not as an SLA record
        yield ctx.emit(AutomationRule(provenance=ctx.prov("sla", f"sla-{sla.provenance.id}"), kind="sla",
                                      name=sla.name, active=sla.active,
                                      definition={"grace_period_hours": sla.grace_period_hours,
                                                  "schedule": sla.schedule, "notes": sla.notes}))
    for ht in categories(ctx, lo, hi):
        ctx.stats.yielded["category"] -= 1
        yield ctx.emit(AutomationRule(provenance=ctx.prov("help_topic", f"help_topic-{ht.provenance.id}"),
                                      kind="help_topic_routing", name=ht.name, active=ht.active,
                                      definition={"queue": ht.queue, "sla_policy": ht.sla_policy,
                                                  "priority": ht.priority, "assignee": ht.assignee,
                                                  "assignee_group": ht.assignee_group, "public": ht.public,
                                                  "parent": ht.parent}))
    from hdm.sources.osticket.people import teams as team_records  # local: people imports lookups only

    for team in team_records(ctx, lo, hi):
        ctx.stats.yielded["team"] -= 1
        if team.kind != TeamKind.QUEUE:
            continue
        yield ctx.emit(AutomationRule(
            provenance=ctx.prov("department", f"department-{team.provenance.id.removeprefix('dept-')}"),
            kind="department_routing", name=team.name, active=team.active,
            definition={"sla_policy": team.sla_policy, "manager": team.manager, "members": team.members,
                        "public": team.public, "parent": team.parent, "archived": team.archived}))


def kb_categories(ctx: Context, lo: int, hi: int) -> Iterator[KbCategory]:
    pid = ctx.col("faq_category", "c", "category_pid")
    for r in ctx.aux.rows(f"SELECT c.category_id, {pid} AS pid, c.ispublic, c.name, c.description "
                          f"FROM {ctx.t('faq_category')} c WHERE c.category_id BETWEEN %s AND %s "
                          f"ORDER BY c.category_id",
                          (lo, hi)):
        ctx.stats.read("faq_category")
        cat = KbCategory(provenance=ctx.prov("faq_category", r["category_id"]), name=r["name"] or "",
                         description=r["description"] or None, public=bool(r["ispublic"]))
        if r["pid"]:
            cat.parent = key("kb_category", int(r["pid"]))
        ctx.text_flags(cat, r)
        yield ctx.emit(cat)


def kb_articles(ctx: Context, lo: int, hi: int) -> Iterator[KbArticle]:
    att: dict[int, list[str]] = defaultdict(list)
    if ctx.has_table("attachment"):
        for r in ctx.aux.rows(f"SELECT id, object_id FROM {ctx.t('attachment')} WHERE type = 'F'"):
            att[int(r["object_id"])].append(key("attachment", r["id"]))
    cats = {int(r["category_id"]) for r in ctx.aux.rows(f"SELECT category_id FROM {ctx.t('faq_category')}")}
    for r in ctx.aux.rows(f"SELECT faq_id, category_id, ispublished, question, answer, keywords, created, updated "
                          f"FROM {ctx.t('faq')} WHERE faq_id BETWEEN %s AND %s ORDER BY faq_id", (lo, hi)):
        ctx.stats.read("faq")
        a = KbArticle(provenance=ctx.prov("faq", r["faq_id"]), title=r["question"] or "", body_html=r["answer"],
                      state=ArticleState.PUBLISHED if r["ispublished"] else ArticleState.DRAFT,
                      attachments=att.get(int(r["faq_id"]), []))
        a.keywords = [k.strip() for k in (r["keywords"] or "").replace(";", ",").split(",") if k.strip()]
        cid = int(r["category_id"] or 0)
        _link(a, "category", "kb_category", cid, cats)
        a.created_at = ctx.date(a, r, "created", "created_at")
        a.updated_at = ctx.date(a, r, "updated", "updated_at")
        ctx.text_flags(a, r)
        yield ctx.emit(a)


# -- helpers ------------------------------------------------------------------------------------

def _link(record: Any, field_name: str, obj: str, ident: int, known: Any, id_prefix: str = "") -> None:
    if not ident:
        return
    if ident in known:
        setattr(record, field_name, key(obj, f"{id_prefix}{ident}"))
    else:
        record.flag("dangling_fk", f"{field_name} names a deleted {obj} ({ident})", field=field_name)


def _schedules(ctx: Context) -> dict[int, str]:
    if not ctx.has_table("schedule"):
        return {}
    return {int(r["id"]): r["name"] or "" for r in ctx.aux.rows(f"SELECT id, name FROM {ctx.t('schedule')}")}


def _list_choices(ctx: Context, list_id: str) -> list[dict[str, str]]:
    if not list_id.isdigit() or not ctx.has_table("list_items"):
        return []
    rows = ctx.aux.rows(f"SELECT id, value FROM {ctx.t('list_items')} WHERE list_id = %s ORDER BY sort, id",
                        (int(list_id),))
    return [{"key": str(r["id"]), "label": r["value"] or ""} for r in rows]

