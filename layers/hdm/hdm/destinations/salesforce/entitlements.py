"""SLA policies → Entitlement Processes: what prepare reports (``shared/reference/notes/salesforce-next.md`` §4).

An entitlement process (``SlaProcess``) and its milestones exist only through the Metadata API (``EntitlementProcess``
deploy / createMetadata); the data API can read ``SlaProcess`` but never create it. hdm therefore does not create
them: prepare checks whether the org has Entitlements enabled (the ``SlaProcess`` object is there), lists the
processes already in it, and gives, per canonical SLA policy, the ``EntitlementProcess`` metadata an admin deploys
(milestones "First Response" and "Resolution" from the policy's hours; their MilestoneTypes must exist first).

No entitlement is attached to any migrated Case: linking a Case to an entitlement with a process spawns milestones
measured from the load time, and closed historical Cases would show them violated (§4, "Pattern for historical
tickets"). The policy's name stays on the Case (the mapping's SLA picklist); attach entitlements to open Cases after
the load, by Flow or by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from hdm.model import SlaPolicy

MILESTONES = (("first_response_hours", "First Response"), ("grace_period_hours", "Resolution"))


def name_norm(name: str) -> str:
    """The metadata file name of a process (NameNorm: lower case, non-alphanumerics as underscores)."""
    return re.sub(r"[^a-z0-9]+", "_", (name or "").casefold()).strip("_")[:80] or "sla"


def process_xml(sla: SlaPolicy) -> str:
    """One ``EntitlementProcess`` metadata file (elements per MD-ep)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<EntitlementProcess xmlns="http://soap.sforce.com/2006/04/metadata">',
             f"    <active>{'true' if sla.active else 'false'}</active>",
             f"    <description>{escape('Migrated from the helpdesk SLA policy ' + (sla.name or ''))}</description>",
             "    <entryStartDateField>Case.CreatedDate</entryStartDateField>",
             "    <SObjectType>Case</SObjectType>"]
    if sla.schedule:
        parts.append(f"    <businessHours>{escape(sla.schedule)}</businessHours>")
    for attr, milestone in MILESTONES:
        hours = getattr(sla, attr)
        if hours:
            parts += ["    <milestones>", f"        <milestoneName>{milestone}</milestoneName>",
                      f"        <minutesToComplete>{int(round(float(hours) * 60))}</minutesToComplete>",
                      "        <useCriteriaStartTime>false</useCriteriaStartTime>", "    </milestones>"]
    parts.append("</EntitlementProcess>")
    return "\n".join(parts) + "\n"


def entitlement_report(has_entitlements: bool, existing: list[str], slas: Iterable[SlaPolicy]) -> dict[str, Any]:
    """The prepare report's ``entitlements`` section: org state, one metadata file per policy, the instructions."""
    slas = [s for s in slas if isinstance(s, SlaPolicy)]
    there = {name_norm(n) for n in existing}
    files = {f"entitlementProcesses/{name_norm(s.name)}.entitlementProcess": process_xml(s) for s in slas}
    lines = ["## SLA policies → Entitlement Processes", ""]
    if not slas:
        lines.append("The source has no SLA policies.")
    elif not has_entitlements:
        lines += ["Entitlements are **not enabled** in the org (no `SlaProcess` object). The SLA policies are not "
                  "migrated as processes; their names stay on the Case (SLA picklist). To use them: enable "
                  "Entitlement Management, then deploy the files below (Metadata API), create the MilestoneTypes "
                  "`First Response` and `Resolution` first."]
    else:
        lines += ["Entitlement processes exist only through the Metadata API: deploy the files below (hdm does not "
                  "create them). Create the MilestoneTypes `First Response` and `Resolution` first.",
                  "No migrated Case gets an entitlement: closed historical Cases would spawn violated milestones. "
                  "Attach entitlements to open Cases after the load (a Flow on the SLA picklist)."]
    if slas:
        lines += ["", "| SLA policy | process file | first response | resolution | business hours | in the org |",
                  "|---|---|---|---|---|---|"]
        for s in slas:
            lines.append(f"| {s.name} | `{name_norm(s.name)}` | {s.first_response_hours or '—'} h | "
                         f"{s.grace_period_hours or '—'} h | {s.schedule or 'default'} | "
                         f"{'yes' if name_norm(s.name) in there else 'no'} |")
    return {"enabled": has_entitlements, "existing_processes": existing, "policies": len(slas),
            "metadata_files": files, "markdown": "\n".join(lines) + "\n",
            "cases_get_entitlements": False}
