"""The admin's inventory of a Thread bundle (Markdown): routing rules and team assignments, which hdm does not
migrate, to rebuild in Salesforce as Case assignment rules, Omni-Channel routing or flows; plus the response
templates whose merge fields have no Salesforce equivalent. Read from the bundle (where it is, or its staged copy);
the records are the same the source extracts (``records.py``)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Optional

from hdm.sources.base import iter_lines
from hdm.sources.export.bundle import BundleFiles, StagedBundle
from hdm.sources.export.source import opened_bundle
from hdm.sources.thread import records as thread_records

# merge fields a Salesforce email template can express (Case/Contact/User fields); anything else is flagged
SALESFORCE_MERGE = {
    "customer.name": "{{{Contact.Name}}}", "customer.first_name": "{{{Contact.FirstName}}}",
    "customer.last_name": "{{{Contact.LastName}}}", "customer.email": "{{{Contact.Email}}}",
    "ticket.id": "{{{Case.CaseNumber}}}", "ticket.title": "{{{Case.Subject}}}", "ticket.status": "{{{Case.Status}}}",
    "agent.name": "{{{User.Name}}}", "agent.first_name": "{{{User.FirstName}}}", "agent.email": "{{{User.Email}}}",
    "company.name": "{{{Account.Name}}}",
}
MERGE = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
MAX_ROWS = 500


def merge_field_name(text: str) -> str:
    m = MERGE.fullmatch(text.strip())
    return m.group(1) if m else text.strip()


def unsupported_merge_fields(fields: list[str]) -> list[str]:
    return [f for f in fields if merge_field_name(f) not in SALESFORCE_MERGE]


def _rows(files: BundleFiles, manifest: Any, object_type: str) -> Any:
    for entry in manifest.files:
        if entry.object_type != object_type:
            continue
        with files.open(entry.path) as f:
            for raw in iter_lines(f):
                if raw.strip():
                    yield thread_records.parse(raw, object_type)


def _esc(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")[:200]


def build_inventory(source: Any) -> str:
    stage = getattr(source, "stage", None)
    if stage is not None and getattr(source, "staged", None):
        return _render(StagedBundle(stage, source.staged), source)
    with opened_bundle(source.path) as local:
        return _render(local, source)


def _render(files: BundleFiles, source: Any) -> str:
    from hdm.sources.export.bundle import read_manifest

    manifest = read_manifest(files, source.profile)
    users: dict[str, str] = {}
    for u in _rows(files, manifest, "user"):
        if u["role"] != "customer":
            users[u["id"]] = u["name"]
    teams: dict[str, dict[str, Any]] = {t["id"]: t for t in _rows(files, manifest, "team")}
    per_team: Counter = Counter(t.get("team_id") for t in _rows(files, manifest, "ticket"))
    rules = sorted(_rows(files, manifest, "routing_rule"), key=lambda r: (r.get("order") is None, r.get("order") or 0))
    templates = list(_rows(files, manifest, "response_template"))

    def who(uid: Optional[str]) -> str:
        return _esc(users.get(uid or "", uid or "—"))

    def team(tid: Optional[str]) -> str:
        return _esc(teams[tid]["name"]) if tid in teams else _esc(tid or "—")

    out = [f"# Thread inventory: to rebuild in Salesforce (bundle {manifest.bundle_id})", "",
           "hdm migrates the records; these are the parts of the help desk's behaviour it does not. Rebuild them in "
           "Salesforce (Setup → Case Assignment Rules, Omni-Channel routing, or a record-triggered Flow).", "",
           f"## Routing rules ({len(rules)})", ""]
    if rules:
        out += ["| order | rule | active | conditions | routes to team | assigns to | rebuild as |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in rules[:MAX_ROWS]:
            conds = "; ".join(f"{c.get('field', '?')} {c.get('operator', '=')} {c.get('value', '')}"
                              for c in r.get("conditions", []))
            rebuild = ("Case assignment rule entry (criteria → queue)" if r.get("team_id") and not r.get("assignee_id")
                       else "Case assignment rule entry (criteria → user)" if r.get("assignee_id")
                       else "record-triggered Flow (no assignment target)")
            out.append(f"| {_esc(r.get('order'))} | {_esc(r['name'])} | {'yes' if r.get('active', True) else 'no'} "
                       f"| {_esc(conds) or '(always)'} | {team(r.get('team_id'))} | {who(r.get('assignee_id'))} "
                       f"| {rebuild} |")
        if len(rules) > MAX_ROWS:
            out.append(f"| … | and {len(rules) - MAX_ROWS} more | | | | | |")
    else:
        out.append("(no routing rules in the bundle)")
    out += ["", f"## Team assignments ({len(teams)} teams)", "",
            "Each team becomes a Salesforce Queue (Case) with the members below as queue members; a ticket assigned "
            "to a team is a Case owned by its queue. Rebuild any round-robin or load balancing with Omni-Channel.", ""]
    if teams:
        out += ["| team | lead | members | tickets assigned |", "| --- | --- | --- | --- |"]
        for t in list(teams.values())[:MAX_ROWS]:
            members = ", ".join(who(m) for m in t.get("members", [])) or "(none)"
            out.append(f"| {_esc(t['name'])} | {who(t.get('lead_id'))} | {members} | {per_team.get(t['id'], 0)} |")
    unassigned = per_team.get(None, 0)
    if unassigned:
        out.append(f"\n{unassigned} ticket(s) have no team.")
    flagged = [(t, unsupported_merge_fields(t.get("merge_fields", []))) for t in templates]
    flagged = [(t, bad) for t, bad in flagged if bad]
    out += ["", f"## Response templates with merge fields Salesforce has no equivalent for ({len(flagged)} of "
            f"{len(templates)})", ""]
    if flagged:
        out += ["| template | shortcut | merge fields to clean up |", "| --- | --- | --- |"]
        for t, bad in flagged[:MAX_ROWS]:
            out.append(f"| {_esc(t['name'])} | {_esc(t.get('shortcut'))} | {_esc(', '.join(bad))} |")
    else:
        out.append("(none)")
    return "\n".join(out) + "\n"
