"""Rollback: delete what this migration created, where Intercom lets anyone delete it.

Deleted: tickets (with them their parts and the files on them), contacts and companies this migration
created (with the placeholder contact of tickets without a requester). Never touched: admins and teams (matched,
never created), contacts that existed before (a 409 linked them). What Intercom does not let anyone delete, said
plainly and kept in the report (``not_deletable``): single ticket parts (replies and notes go only with their
ticket), the ticket type and its attributes (they can only be archived), contact and company data attributes
(archive only), and tags stay defined in the workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdm.connector_errors import SchemaNotReady
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
    {"what": "a company no contact was ever attached to, unknown to the crosswalk", "why": "Intercom lists a "
     "company only once a contact is attached: such a company cannot be found by its legacy id (it is not visible "
     "in Intercom either)"},
]


def own_records(dest: IntercomDestination) -> dict[str, list[str]]:
    """Every record in the workspace carrying this migration's legacy id, found without the crosswalk (a lost
    state folder): tickets of its ticket type by their ``hdm legacy id`` attribute, contacts by ``external_id``,
    companies through those contacts by ``company_id``. Another migration's records (another namespace) never."""
    if not dest.options.legacy_namespace:
        return {}
    prefix = dest.legacy("")
    out: dict[str, list[str]] = {}
    try:
        type_id, _ = dest.ticket_type()
    except SchemaNotReady:
        type_id = None
    if type_id:
        query = {"field": "ticket_type_id", "operator": "=", "value": type_id}
        out[P.TICKET] = [str(t["id"]) for t in dest.api.search_tickets(query, limit_pages=10_000)
                         if str((t.get("ticket_attributes") or {}).get("hdm legacy id") or "").startswith(prefix)]
    contacts = [c for c in dest.api.search_contacts("external_id", prefix, limit_pages=10_000, operator="^")
                if str(c.get("external_id") or "").startswith(prefix)]
    out[P.CONTACT] = [str(c["id"]) for c in contacts]
    company_ids = {str(x["id"]) for c in contacts for x in ((c.get("companies") or {}).get("data") or [])}
    mine = []
    for cid in sorted(company_ids):
        try:
            if str(dest.api.get_company(cid).get("company_id") or "").startswith(prefix):
                mine.append(cid)
        except NotFound:
            continue
    out[P.COMPANY] = mine
    return {k: v for k, v in out.items() if v}


def sweep(dest: IntercomDestination) -> dict[str, int]:
    """Delete what carries this migration's legacy ids and the crosswalk did not know (tickets first, then the
    companies, found through contacts, then the contacts)."""
    found = own_records(dest)
    done: dict[str, int] = {}
    for obj in (P.TICKET, P.COMPANY, P.CONTACT):
        for i in found.get(obj, []):
            try:
                _deleter(dest, obj)(i)
            except NotFound:
                pass
            done[obj] = done.get(obj, 0) + 1
    return done


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
    # tickets before the contacts (the tickets phase holds the placeholder contact of tickets without a requester)
    for e in sorted(entries, key=lambda x: DELETABLE.index(x.dest_object) if x.dest_object in DELETABLE else 9):
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
    by_legacy = {obj: len(ids) for obj, ids in own_records(dest).items()}
    return {"checked_by_id": sum(len(v) for v in by_obj.values()),
            "checked_by_id_per_object": {k: len(v) for k, v in sorted(by_obj.items())},
            "checked_by_legacy_id": bool(dest.options.legacy_namespace),
            "remaining_by_id": {k: len(v) for k, v in remaining.items()},
            "remaining_ids": {k: v[:20] for k, v in remaining.items()},
            "remaining_by_legacy_id": by_legacy,
            "remaining": sum(len(v) for v in remaining.values()) + sum(by_legacy.values()),
            "not_deletable": NOT_DELETABLE}
