"""Prepare: what the load writes must exist first. The migration's ticket type with its attributes (the ticket
custom fields, SLA plan, due time, original number, overdue …), contact and company data attributes, a tag per
category. Admins and teams are only read: Intercom has no API to create them.

Inventory notes for the admin: SLA plans and categories are not objects Intercom's API creates; they are listed
to rebuild as Intercom SLA rules and workflows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdm.destinations.intercom.fields import AttributeDef, owner_of
from hdm.http import Rejected

if TYPE_CHECKING:
    from hdm.destinations.intercom.destination import IntercomDestination


def planned_attributes(dest: IntercomDestination, custom_defs: list[Any]) -> dict[str, dict[str, AttributeDef]]:
    """owner -> name -> definition: the mapping's ``schema`` plus one per source custom field definition."""
    fields = dest.mapping.fields
    plan: dict[str, dict[str, AttributeDef]] = {o: dict(a) for o, a in (fields.attributes or {}).items()}
    for d in custom_defs:
        target = getattr(d, "target", None)
        if target not in dest.mapping.custom_targets:
            continue
        owner = owner_of(target)
        name = dest.transformer._resolve_custom(target, d.name).field if owner else None
        if owner is None or name is None:
            continue
        plan.setdefault(owner, {}).setdefault(name, fields.custom_attribute(owner, name, d.type, d.label or d.name))
    return plan


def internal_notes(stage: Any) -> int:
    """How many conversation parts the transform made internal notes (0 without a stage)."""
    from hdm.destinations.intercom.phases import PARTS

    if stage is None:
        return 0
    return sum(1 for k in stage.list(f"transform/{PARTS}/") if k.endswith(".jsonl.gz")
               for row in stage.read_records(k) if row.get("message_type") == "note" and not row.get("_hold"))


def prepare(dest: IntercomDestination, custom_defs: list[Any]) -> dict[str, Any]:
    api = dest.api
    report: dict[str, Any] = {"created": [], "verified": [], "failed": [], "needs_admin": [], "not_ready": []}
    plan = planned_attributes(dest, custom_defs)
    # the default admin (tickets and parts of unmatched agents, tags, notes carrying files)
    try:
        report["default_admin_id"] = dest.default_admin_id()
    except Rejected as exc:
        report["not_ready"].append({"field": "default admin", "reason": str(exc)})
    # ticket type and its attributes
    type_id, created = dest.ensure_ticket_type()
    (report["created"] if created else report["verified"]).append({"ticket_type": dest.options.ticket_type_name,
                                                                   "id": type_id})
    have = {n.casefold() for n in dest.ticket_type(refresh=True)[1]}
    for name, attr in sorted((plan.get("ticket") or {}).items()):
        if name.casefold() in have:
            report["verified"].append({"ticket_attribute": name})
            continue
        body = {"name": name, "description": attr.description or name, "data_type": attr.data_type,
                "required_to_create": False, "visible_on_create": True,
                "visible_to_contacts": attr.visible_to_contacts}
        if attr.data_type == "string":
            body["multiline"] = attr.multiline
        try:
            api.create_ticket_type_attribute(type_id, body)
            report["created"].append({"ticket_attribute": name, "data_type": attr.data_type})
        except Rejected as exc:
            report["failed"].append({"ticket_attribute": name, "reason": str(exc)})
    dest.ticket_type(refresh=True)
    # contact and company data attributes
    for owner in ("contact", "company"):
        existing = {(a.get("name") or "").casefold() for a in api.data_attributes(owner)}
        for name, attr in sorted((plan.get(owner) or {}).items()):
            if name.casefold() in existing:
                report["verified"].append({f"{owner}_attribute": name})
                continue
            try:
                api.create_data_attribute({"name": name, "model": owner, "data_type": attr.data_type,
                                           "description": attr.description or name})
                report["created"].append({f"{owner}_attribute": name, "data_type": attr.data_type})
            except Rejected as exc:
                report["failed"].append({f"{owner}_attribute": name, "reason": str(exc)})
    # a tag per category (help topic)
    prefix = dest.mapping.policies.get("category_tag_prefix", "")
    categories = dest.lookups.names_of("category")
    for name in categories:
        try:
            dest.tag_id(f"{prefix}{name}"[:190])
            report["verified"].append({"tag": f"{prefix}{name}"[:190]})
        except Rejected as exc:
            report["failed"].append({"tag": name, "reason": str(exc)})
    # inventory notes for the admin
    sla = dest.lookups.names_of("sla_policy")
    if sla:
        report["needs_admin"].append({"what": "SLA plans", "names": sla, "why": "Intercom has no API for SLA rules: "
                                      "rebuild them as SLA rules in Intercom (the plan name and due time of each "
                                      "ticket are kept as ticket attributes)"})
    if categories:
        report["needs_admin"].append({"what": "categories (help topics)", "names": categories, "why": "kept as tags on "
                                      "the tickets; rebuild their routing as Intercom workflows"})
    if not dest.options.private_notes_available:
        notes = internal_notes(dest.options.stage)
        if notes:
            warning = {"what": "internal notes without private notes", "count": notes,
                       "why": f"the source has {notes} internal note(s) and the workspace's plan has no private notes "
                              "(config private_notes_available: false): they are held, never sent as replies, and "
                              "the run ends needing attention; upgrade the plan (then set it true and run again) or "
                              "accept them as held"}
            report.setdefault("warnings", []).append(warning)
            report["needs_admin"].append(warning)
    from hdm.destinations.intercom.rollback import NOT_DELETABLE

    report["needs_admin"].append({"what": "what a rollback cannot delete", "items": NOT_DELETABLE,
                                  "why": "Intercom's API deletes tickets, contacts and companies only; know this "
                                         "before the first write"})
    if report["failed"]:  # the load drops the values of an attribute that is missing, flagged per record
        report["needs_admin"].append({"what": "attributes not prepared", "failed": report["failed"],
                                      "why": "their values are not loaded (flagged attribute_not_prepared)"})
    report["api_calls"] = api.calls.total
    return report
