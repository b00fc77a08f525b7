"""The automation inventory: osTicket's SLA plans, help topics, departments, filters, email templates and canned
responses, described for the customer's admin with how to rebuild each in Salesforce and in Intercom.

``build_inventory(source) -> str`` (Markdown). Nothing here is migrated; it is rebuilt natively by the admin.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from hdm.model import AutomationRule, Record, ResponseTemplate, SlaPolicy, Team, TeamKind
from hdm.sources.osticket import lookups

if TYPE_CHECKING:
    from hdm.sources.osticket.source import OsTicketSource

RULE_FIELDS = {"subject": "Subject", "name": "Sender name", "email": "Sender email", "body": "Body",
               "reply-to": "Reply-To", "reply-to-name": "Reply-To name", "addressee": "To/Cc", "topicId": "Help topic"}
RULE_OPS = {"equal": "equals", "not_equal": "does not equal", "contains": "contains", "dn_contain": "does not contain",
            "starts": "starts with", "ends": "ends with", "match": "matches regex", "not_match": "does not match regex"}

# filter action type → (what it does, Salesforce rebuild, Intercom rebuild)
ACTIONS: dict[str, tuple[str, str, str]] = {
    "reject": ("reject the ticket", "Email-to-Case: an email filter/routing rule that drops the mail, or a "
               "before-save Flow that blocks creation", "Workflow: close the conversation (or a spam rule)"),
    "replyto": ("use the Reply-To header as the requester", "Email-to-Case setting / Flow on EmailMessage",
                "no equivalent; note it for the admin"),
    "noresp": ("send no auto-response", "exclude the criteria from the Auto-Response Rule", "Workflow without a reply"),
    "canned": ("auto-reply with a canned response", "Auto-Response Rule entry with an email template",
               "Workflow: send an auto-reply message"),
    "dept": ("route to a department", "Assignment Rule entry or record-triggered Flow assigning to the Queue",
             "Workflow: assign to the team inbox"),
    "pri": ("set the priority", "record-triggered Flow: set Case.Priority", "Workflow: set the ticket attribute "
            "Priority"),
    "sla": ("apply an SLA plan", "Entitlement Process chosen by a Flow (Case.EntitlementId)", "Workflow: apply an SLA"),
    "team": ("assign to a team", "Assignment Rule / Flow assigning to the team's Queue", "Workflow: assign to team"),
    "agent": ("assign to an agent", "Assignment Rule / Flow assigning Case.OwnerId", "Workflow: assign to teammate"),
    "topic": ("set the help topic", "Flow: set case_help_topic__c (or the Record Type)", "Workflow: add the topic tag"),
    "status": ("set the status", "Flow: set Case.Status", "Workflow: set ticket state"),
    "email": ("send an alert email", "Flow: Send Email action / Email Alert", "Workflow: notify (or a webhook)"),
}


def build_inventory(source: OsTicketSource) -> str:
    by_type: dict[str, list[Record]] = defaultdict(list)
    for chunk in source.plan(10 ** 9):
        if chunk.object_type in ("automation_rule", "response_template", "sla_policy", "team", "agent"):
            by_type[chunk.object_type].extend(source.extract(chunk))
    ctx = source.context()
    agent_names = lookups.staff(ctx)
    names = {"team": {t.key: t.name for t in by_type["team"]},
             "sla_policy": {s.key: s.name for s in by_type["sla_policy"]},
             "agent": {f"agent:{k}": v for k, v in agent_names.items()}}
    rules = [r for r in by_type["automation_rule"] if isinstance(r, AutomationRule)]
    out: list[str] = [
        "# osTicket automation inventory",
        "",
        f"Source: osTicket {source.version} (table prefix `{source.prefix}`). These objects are **not migrated**: "
        "rebuild them natively after the data load. Each section says how, for Salesforce Service Cloud and for "
        "Intercom. Migrated tickets keep the values (help topic, SLA plan, department) as fields/attributes/tags.",
        "",
    ]
    out += _slas([s for s in by_type["sla_policy"] if isinstance(s, SlaPolicy)], rules, names)
    out += _topics([r for r in rules if r.kind == "help_topic_routing"], names)
    out += _departments([t for t in by_type["team"] if isinstance(t, Team)], names)
    out += _filters([r for r in rules if r.kind == "filter"], names)
    templates = [t for t in by_type["response_template"] if isinstance(t, ResponseTemplate)]
    out += _email_templates([t for t in templates if t.kind == "email_template"])
    out += _canned([t for t in templates if t.kind == "canned_response"], names)
    return "\n".join(out) + "\n"


def _name(names: dict[str, dict[str, str]], ref: str | None) -> str:
    if not ref:
        return "-"
    obj = ref.split(":", 1)[0]
    return names.get(obj, {}).get(ref) or ref


def _cell(text: Any) -> str:
    return str(text if text not in (None, "") else "-").replace("|", "\\|").replace("\n", " ")


def _slas(slas: list[SlaPolicy], rules: list[AutomationRule], names: dict) -> list[str]:
    used_by: dict[str, list[str]] = defaultdict(list)
    for r in rules:
        sla = r.definition.get("sla_policy")
        if sla:
            used_by[sla].append(f"{'topic' if r.kind == 'help_topic_routing' else 'dept'} {r.name}")
    out = ["## SLA plans", "",
           "osTicket SLA plans have one window: the grace period (hours) until a ticket is overdue, counted in the "
           "plan's schedule (business hours) when one is set.", "",
           "| SLA plan | grace period (h) | schedule | active | used by |", "| --- | ---: | --- | --- | --- |"]
    for s in slas:
        out.append(f"| {_cell(s.name)} | {s.grace_period_hours:g} | {_cell(s.schedule or '24/7')} | "
                   f"{'yes' if s.active else 'no'} | {_cell(', '.join(used_by.get(s.key, [])))} |")
    out += ["", "**Salesforce:** create one Entitlement Process per plan with a *Resolution* milestone of the grace "
            "period (Business Hours = the schedule), an Entitlement per customer account using it, and a picklist "
            "value in `case_sla_plan__c`. A Flow sets `Case.EntitlementId` from the plan (or from the help topic / "
            "department that carried it).",
            "**Intercom:** create one SLA per plan (Advanced tier or above) with a *time to close* target of the grace "
            "period and the office hours of the schedule; apply it in the workflow that routes the conversation. "
            "Migrated tickets carry the plan name in the `SLA plan` attribute.", ""]
    return out


def _topics(topics: list[AutomationRule], names: dict) -> list[str]:
    out = ["## Help topics (routing)", "",
           "| help topic | department | SLA plan | priority | auto-assign | public | active |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for t in topics:
        d = t.definition
        assignee = _name(names, d.get("assignee")) if d.get("assignee") else _name(names, d.get("assignee_group"))
        out.append(f"| {_cell(t.name)} | {_cell(_name(names, d.get('queue')))} | "
                   f"{_cell(_name(names, d.get('sla_policy')))} | {_cell(d.get('priority'))} | {_cell(assignee)} | "
                   f"{'yes' if d.get('public') else 'no'} | {'yes' if t.active else 'no'} |")
    out += ["", "**Salesforce:** a picklist value per topic in `case_help_topic__c` (or one Case Record Type per "
            "topic when topics need their own layouts/processes); one Assignment Rule entry per routed topic "
            "(criteria: help topic = X → the department's Queue or the user), and the SLA through the Entitlement "
            "Flow above.",
            "**Intercom:** a tag (or a ticket type / conversation attribute) per topic; one workflow branch per "
            "routed topic assigning to the team inbox or teammate and applying the SLA.", ""]
    return out


def _departments(teams: list[Team], names: dict) -> list[str]:
    depts = [t for t in teams if t.kind == TeamKind.QUEUE]
    groups = [t for t in teams if t.kind == TeamKind.GROUP]
    out = ["## Departments", "", "| department | parent | SLA plan | manager | members | public | active |",
           "| --- | --- | --- | --- | ---: | --- | --- |"]
    for d in depts:
        out.append(f"| {_cell(d.name)} | {_cell(_name(names, d.parent))} | {_cell(_name(names, d.sla_policy))} | "
                   f"{_cell(_name(names, d.manager))} | {len(d.members)} | {'yes' if d.public else 'no'} | "
                   f"{'yes' if d.active and not d.archived else 'no'} |")
    for d in depts:
        if d.members:
            out.append(f"- {_cell(d.name)} members: {', '.join(_name(names, m) for m in d.members)}")
    if groups:
        out += ["", "| team | lead | members | active |", "| --- | --- | ---: | --- |"]
        for g in groups:
            out.append(f"| {_cell(g.name)} | {_cell(_name(names, g.manager))} | {len(g.members)} | "
                       f"{'yes' if g.active else 'no'} |")
    out += ["", "**Salesforce:** one Queue per department (supported object Case) with these members (public groups "
            "for teams); the department's SLA plan through the Entitlement Flow; `agent_department__c` on Users.",
            "**Intercom:** one team inbox per department (teams become teams too), the members as teammates of the "
            "team; the SLA applied by the routing workflow.", ""]
    return out


def _filters(filters: list[AutomationRule], names: dict) -> list[str]:
    out = ["## Ticket filters", ""]
    if not filters:
        return out + ["No filters are defined.", ""]
    for f in filters:
        d = f.definition
        out.append(f"### {_cell(f.name)} ({'active' if f.active else 'inactive'}, order {d.get('order')}, "
                   f"target {d.get('target')})")
        out.append(f"When **{d.get('match')}** of these match"
                   + (" (and stop processing further filters)" if d.get("stop_on_match") else "") + ":")
        for r in d.get("rules", []):
            out.append(f"- {RULE_FIELDS.get(r['what'], r['what'])} {RULE_OPS.get(r['how'], r['how'])} "
                       f"`{_cell(r['value'])}`" + ("" if r.get("active", True) else " (inactive)"))
        if not d.get("rules"):
            out.append("- (no rules: never matches)")
        out.append("")
        out.append("Then:")
        out.append("")
        out.append("| action | settings | Salesforce | Intercom |")
        out.append("| --- | --- | --- | --- |")
        for a in d.get("actions", []):
            what, sf, ic = ACTIONS.get(a["type"], (a["type"], "record-triggered Flow", "Workflow"))
            cfg = _resolve_config(a.get("configuration"), names)
            settings = json.dumps(cfg, sort_keys=True, ensure_ascii=False) if cfg else ""
            out.append(f"| {_cell(what)} | {_cell(settings)} | {_cell(sf)} | "
                       f"{_cell(ic)} |")
        out.append("")
    out += ["**Salesforce:** rebuild each filter as a record-triggered Flow on Case (after create), in the order "
            "above; email-only filters can use Email-to-Case routing addresses. **Intercom:** one workflow per filter "
            "(trigger: customer sends first message), conditions as above.", ""]
    return out


CONFIG_REFS = {"dept_id": ("team", "dept-"), "team_id": ("team", "team-"), "sla_id": ("sla_policy", ""),
               "staff_id": ("agent", "")}


def _resolve_config(cfg: Any, names: dict) -> Any:
    """Name the objects a filter action's configuration points at (``{"dept_id": 3}`` → the department)."""
    if not isinstance(cfg, dict):
        return cfg
    out = dict(cfg)
    for k, v in cfg.items():
        if k in CONFIG_REFS and str(v).isdigit():
            obj, prefix = CONFIG_REFS[k]
            out[k] = f"{v} ({_name(names, f'{obj}:{prefix}{v}')})"
    return out


def _email_templates(templates: list[ResponseTemplate]) -> list[str]:
    out = ["## Email templates", "", "| template | active |", "| --- | --- |"]
    for t in templates:
        out.append(f"| {_cell(t.title)} | {'yes' if t.active else 'no'} |")
    out += ["", "**Salesforce:** Lightning/Classic Email Templates (merge fields `{!Case.CaseNumber}` … replace "
            "osTicket's `%{ticket.number}`), used by Auto-Response Rules and Email Alerts. **Intercom:** auto-reply "
            "messages in workflows and the email notification settings.", ""]
    return out


def _canned(canned: list[ResponseTemplate], names: dict) -> list[str]:
    out = ["## Canned responses", "", "| canned response | department | enabled | attachments |",
           "| --- | --- | --- | ---: |"]
    for t in canned:
        out.append(f"| {_cell(t.title)} | {_cell(_name(names, t.queue) if t.queue else 'all')} | "
                   f"{'yes' if t.active else 'no'} | {len(t.attachments)} |")
    out += ["", "**Salesforce:** Quick Text (or Macros for multi-step replies), folders per department. "
            "**Intercom:** Macros (saved replies), shared with the department's team.", ""]
    return out
