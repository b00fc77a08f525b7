"""The scoping report (``hdm discover``) and the automation inventory (Markdown for the customer's admin)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from hdm.model import AutomationRule, Record, ResponseTemplate, SlaPolicy, Team

if TYPE_CHECKING:
    from hdm.sources.kustomer.source import KustomerSource


def build_scoping_report(source: KustomerSource) -> dict[str, Any]:
    d = source.discover()
    return {"system": d.system, "version": d.version, "counts": d.counts, **d.details}


def render_scoping_markdown(data: dict[str, Any]) -> str:
    out = ["# Kustomer scoping report", "", f"API: `{data.get('api_base')}` — high-water mark "
           f"`{data.get('high_water')}` (the `since` of the next delta run).", "",
           "| object | records |", "| --- | ---: |"]
    out += [f"| {k} | {v} |" for k, v in sorted(data.get("counts", {}).items())]
    out += ["", "## Klasses (become custom objects)", ""]
    for name, k in sorted((data.get("klasses") or {}).items()):
        out.append(f"- **{k.get('label')}** (`{name}`, {k.get('records')} records): " + ", ".join(
            f"{a['name']} ({a['type']}{' → ' + a['lookup'] if a.get('lookup') else ''})"
            for a in k.get("attributes", [])))
    out += ["", "## Custom attributes", ""]
    for resource, props in sorted((data.get("custom_attributes") or {}).items()):
        out.append(f"- {resource}: " + ", ".join(f"{n} ({p.get('type')})" for n, p in sorted(props.items())))
    if data.get("unreadable"):
        out += ["", "## Not readable with this API key", ""]
        out += [f"- `{path}`: {why}" for path, why in sorted(data["unreadable"].items())]
    out += ["", f"Key roles: {', '.join(data.get('key_roles') or []) or 'unknown'}.", ""]
    return "\n".join(out)


def build_inventory(source: KustomerSource) -> str:
    by_type: dict[str, list[Record]] = defaultdict(list)
    for chunk in source.plan_lists():
        by_type[chunk.object_type].extend(source.extract(chunk))
    teams = {t.key: t.name for t in by_type["team"] if isinstance(t, Team)}
    rules = [r for r in by_type["automation_rule"] if isinstance(r, AutomationRule)]
    out = ["# Kustomer automation inventory", "",
           "These objects are **not migrated**: rebuild them natively after the data load (Salesforce: Flow, "
           "Assignment Rules / Omni-Channel routing, Entitlement Processes and Milestones; Quick Text for "
           "shortcuts). Migrated conversations keep their SLA, team and tags as fields.", ""]
    out += ["## Workflows", ""]
    for r in (r for r in rules if r.kind == "workflow"):
        trigger = (r.definition.get("trigger") or {}).get("eventName", "?")
        steps = ", ".join(str(s.get("action")) for s in r.definition.get("steps") or [] if isinstance(s, dict))
        out.append(f"- **{r.name}** ({'enabled' if r.active else 'disabled'}): on `{trigger}` → {steps or 'no steps'}")
    out += ["", "## Business rules", ""]
    for r in (r for r in rules if r.kind == "business_rule"):
        actions = "; ".join(_action(a, teams) for a in r.definition.get("actions") or [] if isinstance(a, dict))
        out.append(f"- **{r.name}** ({'enabled' if r.active else 'disabled'}, order {r.definition.get('order')}, "
                   f"on {r.definition.get('object')}): when `{r.definition.get('conditions')}` → {actions}")
    out += ["", "## SLAs (Entitlement Processes and Milestones)", ""]
    for s in (s for s in by_type["sla_policy"] if isinstance(s, SlaPolicy)):
        out.append(f"- **{s.name}** ({'enabled' if s.active else 'disabled'}, hours: {s.schedule}): first response "
                   f"{s.first_response_hours} h; criteria `{s.extra.get('criteria')}`")
    out += ["", "## Shortcuts (Quick Text)", ""]
    for t in (t for t in by_type["response_template"] if isinstance(t, ResponseTemplate)):
        out.append(f"- **{t.title}**{' (private)' if t.extra.get('isPrivate') else ''}")
    out += ["", "## Teams (Queues or Groups)", ""]
    out += [f"- **{t.name}**: {len(t.members)} member{'' if len(t.members) == 1 else 's'}"
            for t in by_type["team"] if isinstance(t, Team)]
    text = "\n".join(out) + "\n"
    for tag_id, name in source.tag_names().items():  # conditions name tags by id: show their names
        text = text.replace(f"'{tag_id}'", f"'{name}' (tag)")
    return text


def _action(action: dict[str, Any], teams: dict[str, str]) -> str:
    if action.get("type") == "assign_team":
        return f"assign to team {teams.get('team:' + str(action.get('team')), action.get('team'))}"
    return str(action.get("type"))
