"""Rows for what a ticket carries besides its conversation: collaborators, events, and its parent link.

- Collaborators (osTicket CCs) → ``CaseContactRole`` (CasesId, ContactId, Role). Why this shape: it is
  Salesforce's own record of "a Contact who plays a part on this Case" beside the primary ContactId; it is
  reported on the Case and the Contact, deleted with either, and a user who is a collaborator on many tickets
  stays one Contact. Role tells CC, participant and former collaborator apart (value map ``collaborator_role``).
- Events (osTicket ``thread_event`` / ``ticket_event``) → ``hdm_Case_Event__c``, a custom object with a Case
  lookup, original time, actor, type, annulled and the event's details, one record per event (upsert on the
  legacy ID), so a Case's history can be listed, reported on and queried.
- Tasks, merged and linked tickets → ``Case.ParentId`` of their own Case (phase ``case_parents``); a task's
  Case says it is a task in its subject and in ``hdm_Ticket_Number__c`` ("Task #<number>").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Optional

from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.legacy_ids import legacy_id
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.mapping.model import Mapping
from hdm.model import Event, Ticket

EVENT_OBJECT = "hdm_Case_Event__c"
DETAILS_MAX = 32768
TASK_PREFIX = "Task #"
RELATION_FLAGS = {
    "merged": "merged into its parent ticket in osTicket: ParentId points at the parent's Case",
    "linked": "linked to another ticket in osTicket: ParentId points at the Case of the ticket it is linked to",
    "task_of": "an osTicket task of a ticket: ParentId points at the ticket's Case",
}


def task_number(number: Optional[str]) -> str:
    return f"{TASK_PREFIX}{number}" if number else "Task"


def mark_task(row: dict[str, Any], rec: Ticket, flags: list[dict[str, Any]]) -> None:
    """A task's Case cannot pass for a ticket: its subject and number start with "Task #<number>"."""
    label = task_number(rec.number)
    row["Subject"] = f"{label}: {rec.subject}"[:255] if rec.subject else label
    if "hdm_Ticket_Number__c" in row:
        row["hdm_Ticket_Number__c"] = label[:255]
    flags.append({"source_key": rec.key, "code": "task_case", "field": "Subject", "severity": "info",
                  "reason": "an osTicket task: loaded as a Case whose subject and number say 'Task #', under the "
                            "Case of its ticket"})


def parent_row(rec: Ticket, ext_field: str, namespace: Optional[str]) -> Optional[dict[str, Any]]:
    """The ParentId link of a merged or linked ticket, or of a task, set once every Case exists."""
    if not rec.parent or rec.relation not in RELATION_FLAGS:
        return None
    return {"_source_key": rec.key, "_object": "Case", ext_field: legacy_id(namespace, rec.key),
            "_lookups": {"ParentId": rec.parent}, "_relation": rec.relation,
            "_flags": [{"source_key": rec.key, "code": f"{rec.relation}_ticket", "field": "ParentId",
                        "severity": "info", "reason": RELATION_FLAGS[rec.relation]}]}


def collaborator_key(ticket_key: str, contact_key: str) -> str:
    """The crosswalk key of one collaborator link: ``ticket:42#cc:contact:7`` (its base key is the ticket's)."""
    return f"{ticket_key}#cc:{contact_key}"


def collaborator_rows(rec: Ticket, mapping: Mapping) -> Iterator[dict[str, Any]]:
    details = {d.get("contact"): d for d in rec.collaborator_details}
    for contact in rec.collaborators:
        d = details.get(contact) or {"active": True, "cc": True}
        state = "inactive" if not d.get("active", True) else ("cc" if d.get("cc") else "participant")
        mapped = mapping.map_value("collaborator_role", [state]) if "collaborator_role" in mapping.value_maps \
            else None
        role = mapped.value if mapped else None
        skey = collaborator_key(rec.key, contact)
        flags = []
        if d.get("role") not in (None, "M"):  # Role says CC/participant; a third party or authority is said here
            flags.append({"source_key": skey, "code": "collaborator_role", "field": "Role", "severity": "info",
                          "reason": f"osTicket collaborator role {d['role']!r}: {d.get('role_name')}"})
        yield {"_source_key": skey, "_object": "CaseContactRole", "_ticket": rec.key, "_contact": contact,
               "_lookups": {"CasesId": rec.key, "ContactId": contact}, "Role": role, "_flags": flags}


def _readable(value: Any, names: ReferenceNames) -> Any:
    """Keys in event data ("agent:3") as the names people know them by, the key kept beside."""
    if isinstance(value, str) and ":" in value:
        name = names.get(value)
        return f"{name} ({value})" if name else value
    if isinstance(value, dict):
        return {k: _readable(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v, names) for v in value]
    return value


def event_details(rec: Event, names: ReferenceNames) -> Optional[str]:
    if not rec.data:
        return None
    return json.dumps(_readable(rec.data, names), ensure_ascii=False, sort_keys=True, default=str)


def event_row(rec: Event, row: dict[str, Any], flags: list[dict[str, Any]], names: ReferenceNames
              ) -> tuple[str, dict[str, Any]]:
    """Finish an event's mapped row: Case lookup, actor, details and a readable Name."""
    actor = names.get(rec.actor) if rec.actor else None
    row["Actor__c"] = (actor or rec.actor_name or None)
    if row["Actor__c"] and len(row["Actor__c"]) > 255:
        row["Actor__c"] = row["Actor__c"][:255]
    details = event_details(rec, names)
    if details and len(details) > DETAILS_MAX:
        flags.append({"source_key": rec.key, "code": "truncated", "field": "Details__c", "severity": "warning",
                      "reason": f"{len(details)} characters of event details cut to {DETAILS_MAX}"})
        details = details[:DETAILS_MAX]
    row["Details__c"] = details
    when = (row.get("Event_Time__c") or "")[:16].replace("T", " ")
    row["Name"] = " ".join(p for p in (row.get("Type__c") or "event", when) if p)[:80]
    row["_flags"] = flags
    if not rec.ticket:
        row["_hold"] = "the event belongs to no ticket"
        flags.append({"source_key": rec.key, "code": "event_held", "field": "Case__c", "severity": "warning",
                      "reason": row["_hold"]})
    else:
        row["_lookups"]["Case__c"] = rec.ticket
    if rec.annulled:
        flags.append({"source_key": rec.key, "code": "annulled_event", "field": "Annulled__c", "severity": "info",
                      "reason": "osTicket marked this event annulled (e.g. an overdue state undone): kept, flagged"})
    return P.CASE_EVENTS, row
