"""Discovery of a Kayako instance: counts, the custom-field inventory with API keys, plan-tier hints, the
scoping report (JSON + Markdown) and the automation inventory for the admin (triggers, monitors, SLAs →
Salesforce Flow / Entitlements). Nothing personal (names, e-mails, bodies) is reported.

Plan tier: Kayako exposes no plan through the API; the hints name the features in use that only some plans
have (several brands, SLAs, monitors, custom fields), for a person to confirm.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from hdm.sources.base import Discovery
from hdm.sources.kayako import records as R
from hdm.sources.kayako.errors import KayakoNotFound
from hdm.sources.kayako.values import SYSTEM_TYPES, field_def

if TYPE_CHECKING:
    from hdm.sources.kayako.source import KayakoSource


def total(source: KayakoSource, path: str) -> int:
    try:
        body = source.client.get(path, {"limit": 1, "fields": "id"})
    except KayakoNotFound:  # an owner deleted since it was listed
        return 0
    count = body.get("total_count")
    if isinstance(count, int):
        return count
    return sum(1 for _ in source.client.items(path, {"fields": "id"}))


def count_attachments(source: KayakoSource) -> int:
    """Files of posts (of the cases that say they have attachments), their inline images, and the help center's
    article files and inline images: what the attachment chunks yield, counted without downloading."""
    n = 0
    ids = source.ids("cases")
    if ids:
        for _case, posts in source._posts(1, ids[-1], files_only=True):
            for post in posts:
                n += sum(1 for a in post.get("attachments") or [] if isinstance(a, dict) and a.get("id") is not None)
                original = post.get("original") if isinstance(post.get("original"), dict) else {}
                n += len(R.media_images(original.get("body_html"), f"post-{post['id']}"))
    n += sum(1 for _ in source.article_attachments(None, None))
    return n


def discover(source: KayakoSource) -> Discovery:
    session = source.probe()
    c = source.catalogs()
    roles: Counter = Counter()
    for user in source.client.items("/users", {"fields": "id,role", "limit": 1000}):
        roles[c.role_of(user) or "UNKNOWN"] += 1
    posts = 0
    states: Counter = Counter()
    cases = 0
    with_attachments = 0
    ratings = 0
    for case in source.client.items("/cases", {"fields": "id,post_count,state,has_attachments,rating",
                                               "limit": 1000}):
        cases += 1
        ratings += int(case.get("rating") is not None)
        posts += int(case.get("post_count") or 0)
        states[str(case.get("state") or "ACTIVE")] += 1
        with_attachments += int(bool(case.get("has_attachments")))
    fields: list[dict[str, Any]] = []
    for family in ("cases", "users", "organizations"):
        for raw in source.client.items(f"/{family}/fields", {"include": "field_option,locale_field"}):
            fd = field_def(raw)
            if fd is None or fd.system or fd.type in SYSTEM_TYPES:
                continue
            fields.append({"target": R.FIELD_TARGETS[family], "key": fd.key, "title": fd.title, "type": fd.type,
                           "options": len(fd.options), "enabled": fd.enabled})
    titles = Counter((f["target"], f["title"]) for f in fields)
    for f in fields:
        f["title_shared"] = titles[(f["target"], f["title"])] > 1
    articles = list(source.client.items("/articles", {"fields": "id,titles,status", "include": "locale_field"}))
    article_records = sum(len({v.get("locale") for v in a.get("titles") or [] if isinstance(v, dict)}) or 1
                          for a in articles)
    attachments = count_attachments(source)
    notes = sum(total(source, f"/{family}/{ident}/notes") for family in ("users", "organizations")
                for ident in source.ids(family))
    brands = total(source, "/brands")
    slas = total(source, "/slas")
    triggers = total(source, "/triggers")
    monitors = total(source, "/monitors")
    counts = {
        "organization": total(source, "/organizations"),
        "contact": sum(n for r, n in roles.items() if r not in R.AGENT_ROLES),
        "agent": sum(n for r, n in roles.items() if r in R.AGENT_ROLES),
        "team": total(source, "/teams"),
        "ticket": cases,
        "message": posts,
        "attachment": attachments,
        "note": notes,
        "satisfaction_rating": ratings,
        "event": cases,  # one "created" event per case
        "status": len(c.statuses),
        "priority": len(c.priorities),
        "ticket_type": len(c.types),
        "brand": brands,
        "custom_field": len(fields),
        "tag": total(source, "/tags"),
        "sla_policy": slas,
        "automation_rule": triggers + monitors + slas,
        "kb_category": total(source, "/categories") + total(source, "/sections"),
        "kb_article": article_records,
    }
    hints = []
    if brands > 1:
        hints.append(f"{brands} brands: multi-brand is offered only on Kayako's top plans")
    if slas:
        hints.append(f"{slas} SLA policies: SLAs are not on Kayako's entry plan")
    if monitors:
        hints.append(f"{monitors} monitors (time-based automations)")
    if fields:
        hints.append(f"{len(fields)} custom fields")
    details = {
        "instance": session.get("instance_name"),
        "edition": "new Kayako (API v1)",
        "roles": dict(roles),
        "case_states": dict(states),
        "cases_with_attachments": with_attachments,
        "counting": "attachments and notes have no listing across records: discovery reads the posts of every "
                    "case with attachments and one notes page per user and organization to count them",
        "articles": len(articles),
        "article_statuses": dict(Counter(str(a.get("status")) for a in articles)),
        "custom_fields": fields,
        "plan_tier_hints": hints,
        "triggers": triggers,
        "monitors": monitors,
        "incremental": ("no server-side updated_at filter is documented (nor emulated): a delta run "
                        "(updated_since) re-reads the case, user and organization listings and reads posts and "
                        "attachments only of the cases updated since"),
        "updated_since": source.since.isoformat() if source.since else None,
    }
    return Discovery(system=R.SYSTEM, version="v1", counts=counts, details=details)


def build_scoping_report(source: KayakoSource) -> dict[str, Any]:
    d = source.discover()
    return {"system": d.system, "version": d.version, "record_counts": d.counts, **d.details,
            "calls": source.client.counters.total}


def render_scoping_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Kayako scoping report ({report.get('edition')})", "",
             f"Instance: {report.get('instance') or 'unknown'}", "", "## Records", "",
             "| object | count |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in sorted(report.get("record_counts", {}).items())]
    lines += ["", f"Case states: {report.get('case_states')}; cases with attachments: "
              f"{report.get('cases_with_attachments')}.", "", "## Plan tier hints (to confirm)", ""]
    lines += [f"- {h}" for h in report.get("plan_tier_hints") or ["none"]]
    lines += ["", "## Custom fields (addressed by API key, never by title)", "",
              "| object | key | title | type | options | note |", "| --- | --- | --- | --- | --- | --- |"]
    for f in report.get("custom_fields") or []:
        note = "title shared with another field" if f.get("title_shared") else ("disabled" if not f["enabled"] else "")
        lines.append(f"| {f['target']} | `{f['key']}` | {f['title']} | {f['type']} | {f['options']} | {note} |")
    lines += ["", f"Incremental runs: {report.get('incremental')}.", ""]
    return "\n".join(lines)


FLOW_HINTS = {
    "trigger": "Record-Triggered Flow on Case (after save), entry conditions from the trigger's conditions",
    "monitor": "Scheduled-Triggered Flow (or a scheduled path of a record-triggered Flow) over open Cases",
    "sla": "Entitlement Process with milestones (First Response, Resolution), business hours as a Salesforce "
           "Business Hours record; needs Entitlement Management enabled",
}


def build_inventory(source: KayakoSource) -> str:
    """Markdown for the customer's admin: every trigger, monitor and SLA with its conditions and actions and
    the Salesforce feature to rebuild it with. Nothing here is migrated."""
    c = source.catalogs()
    names = {"status": {k: v.get("label") for k, v in c.statuses.items()},
             "priority": {k: v.get("label") for k, v in c.priorities.items()},
             "type": {k: v.get("label") for k, v in c.types.items()},
             "assigned_team": {int(t["id"]): t.get("title") for t in source.client.items("/teams")}}

    def named(action: str, value: Any) -> str:
        try:
            label = names.get(action, {}).get(int(value))
        except (TypeError, ValueError):
            label = None
        return f"{value!r} ({label})" if label else repr(value)

    lines = ["# Kayako automations to rebuild in Salesforce", "",
             "Kayako automations are not migrated (they do not export as code). Each one below is described for "
             "the Salesforce admin with a recommended equivalent.", ""]
    for kind, path, title in (("trigger", "/triggers", "Triggers"), ("monitor", "/monitors", "Monitors"),
                              ("sla", "/slas", "SLA policies")):
        rules = list(source.client.items(path))
        lines += [f"## {title} ({len(rules)})", "", f"Salesforce: {FLOW_HINTS[kind]}.", ""]
        for raw in rules:
            state = "active" if raw.get("is_enabled", True) else "disabled"
            lines.append(f"### {raw.get('title') or raw.get('id')} ({state})")
            if kind == "trigger":
                lines.append(f"- fires on: channel {raw.get('channel')}, event {raw.get('event')}")
            for group in raw.get("predicate_collections") or []:
                props = [f"{p.get('field')} {p.get('operator')} {p.get('value')!r}"
                         for p in (group or {}).get("propositions") or [] if isinstance(p, dict)]
                if props:
                    lines.append("- when: " + " and ".join(props))
            for action in raw.get("actions") or []:
                if isinstance(action, dict):
                    what = str(action.get("action"))
                    lines.append(f"- then: {what} = {named(what, action.get('value'))}")
            if kind == "sla":
                for target in R.sla_policy(raw, c).extra.get("targets", []):
                    lines.append(f"- milestone: {target['type']} within {target['hours']:g} h "
                                 f"({target['operational_hours']}, priority {target['priority']})")
            lines.append("")
    return "\n".join(lines)
