"""Rollback: delete what this migration created, where Intercom lets anyone delete it.

Deleted: tickets (with them their parts and the files on them), contacts and companies this migration
created. Never touched: admins and teams (matched, never created), contacts that existed before (a 409 linked
them). What Intercom does not let anyone delete, said plainly and kept in the report (``not_deletable``):
single ticket parts (replies and notes go only with their ticket), the ticket type and its attributes (they can
only be archived), contact and company data attributes (archive only), and tags stay defined in the workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdm.crosswalk.base import CrosswalkEntry, Origin
from hdm.destinations.intercom import phases as P
from hdm.http import NotFound

if TYPE_CHECKING:
    from hdm.destinations.intercom.destination import IntercomDestination

DELETABLE = (P.TICKET, P.CONTACT, P.COMPANY)
NOT_DELETABLE = [
    {"what": "ticket parts (replies, notes) and their files", "why": "Intercom has no API to delete a part; they "
     "are deleted with their ticket"},
    {"what": "the ticket type and its attributes", "why": "Intercom can only archive them (no delete)"},
    {"what": "contact and company data attributes", "why": "Intercom can only archive them (no delete)"},
    {"what": "tags made for categories", "why": "left defined in the workspace (they tag nothing once the tickets "
     "are gone)"},
]


def _getter(dest: IntercomDestination, obj: str):
    return {P.TICKET: dest.api.get_ticket, P.CONTACT: dest.api.get_contact, P.COMPANY: dest.api.get_company}[obj]


def _deleter(dest: IntercomDestination, obj: str):
    return {P.TICKET: dest.api.delete_ticket, P.CONTACT: dest.api.delete_contact,
            P.COMPANY: dest.api.delete_company}[obj]


def resolve_pending(dest: IntercomDestination, entries: list[CrosswalkEntry]) -> list[CrosswalkEntry]:
    """Pending entries without an id: look their record up by its legacy id (contacts by external_id, companies by
    company_id; tickets cannot be found without their contact: reported). Returns those whose write never
    happened."""
    never: list[CrosswalkEntry] = []
    for e in entries:
        if e.dest_id or e.origin != Origin.CREATED:
            continue
        found = None
        legacy = dest.legacy(e.source_key)
        if e.dest_object == P.CONTACT:
            c = dest.api.contact_by_external_id(legacy)
            found = str(c["id"]) if c else None
        elif e.dest_object == P.COMPANY:
            c = dest.api.company_by_company_id(legacy)
            found = str(c["id"]) if c else None
        e.dest_id = found
        if found is None and e.dest_object != P.TICKET:
            never.append(e)
    return never


def rollback_entries(dest: IntercomDestination, entries: list[CrosswalkEntry]) -> list[CrosswalkEntry]:
    done = resolve_pending(dest, entries)
    for e in entries:
        if e.origin != Origin.CREATED or not e.dest_id or e.dest_object not in DELETABLE:
            continue
        try:
            _deleter(dest, e.dest_object)(e.dest_id)
        except NotFound:
            pass  # gone already
        done.append(e)
    return done


def prove_gone(dest: IntercomDestination, entries: list[CrosswalkEntry]) -> dict[str, Any]:
    by_obj: dict[str, set[str]] = {}
    for e in entries:
        if e.origin == Origin.CREATED and e.dest_id and e.dest_object in DELETABLE:
            by_obj.setdefault(e.dest_object, set()).add(e.dest_id)
    remaining: dict[str, list[str]] = {}
    for obj, ids in sorted(by_obj.items()):
        for i in sorted(ids):
            try:
                _getter(dest, obj)(i)
            except NotFound:
                continue
            remaining.setdefault(obj, []).append(i)
    return {"checked_by_id": sum(len(v) for v in by_obj.values()),
            "checked_by_id_per_object": {k: len(v) for k, v in sorted(by_obj.items())},
            "checked_by_legacy_id": False,
            "remaining_by_id": {k: len(v) for k, v in remaining.items()},
            "remaining_ids": {k: v[:20] for k, v in remaining.items()},
            "remaining_by_legacy_id": {},
            "remaining": sum(len(v) for v in remaining.values()),
            "not_deletable": NOT_DELETABLE}
