"""Rollback: delete what this migration created; matched records (Users, existing Queues/Contacts) and
merged entries are never touched. Works after a failed or partial run (pending entries with an id too)."""

from __future__ import annotations

from typing import Any, Optional

from hdm.crosswalk.base import CrosswalkEntry, Origin
from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.legacy_ids import legacy_id

GONE = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"}
# deletable objects per crosswalk destination object
DELETE_AS = {"Account": "Account", "Contact": "Contact", "Case": "Case", "CaseComment": "CaseComment",
             "Group": "Group", "ContentVersion": "ContentDocument", "CaseContactRole": "CaseContactRole",
             "hdm_Case_Event__c": "hdm_Case_Event__c"}


LEGACY = "hdm_Legacy_Id__c"
# objects whose records carry the legacy external ID, so a write interrupted before its id reached the
# crosswalk (a pending entry without dest_id) can still be found and deleted
FINDABLE = ("Account", "Contact", "Case", "ContentVersion", "hdm_Case_Event__c")


def legacy_value(entry: CrosswalkEntry, namespace: Optional[str] = None) -> str:
    """The legacy external ID the transform gave this entry's record (see transform.py and legacy_ids.py)."""
    return legacy_id(namespace, entry.source_key)


def resolve_pending(api: SalesforceApi, entries: list[CrosswalkEntry], namespace: Optional[str] = None
                    ) -> list[CrosswalkEntry]:
    """Entries created-but-pending without a destination id: look their records up by legacy ID. Returns the
    ones found nowhere (their write never happened): nothing to delete for them."""
    unknown = [e for e in entries if e.origin == Origin.CREATED and not e.dest_id and e.dest_object in FINDABLE]
    never_written: list[CrosswalkEntry] = []
    by_obj: dict[str, list[CrosswalkEntry]] = {}
    for e in unknown:
        by_obj.setdefault(e.dest_object, []).append(e)
    for obj, group in by_obj.items():
        values = [legacy_value(e, namespace) for e in group]
        found = {r[LEGACY]: r["Id"] for r in api.query_in(f"Id, {LEGACY}", obj, LEGACY, values)}
        for e in group:
            e.dest_id = found.get(legacy_value(e, namespace))
            if e.dest_id is None:
                never_written.append(e)
    return never_written


def rollback_entries(api: SalesforceApi, entries: list[CrosswalkEntry], bulk_threshold: int,
                     namespace: Optional[str] = None) -> list[CrosswalkEntry]:
    done: list[CrosswalkEntry] = resolve_pending(api, entries, namespace)
    mine = [e for e in entries if e.origin == Origin.CREATED and e.dest_id and e.dest_object in DELETE_AS]
    by_obj: dict[str, list[CrosswalkEntry]] = {}
    for e in mine:
        by_obj.setdefault(e.dest_object, []).append(e)
    for dest_object, group in by_obj.items():
        ids: dict[str, list[CrosswalkEntry]] = {}
        if dest_object == "ContentVersion":
            docs = {v["Id"]: v.get("ContentDocumentId") for v in api.query_in(
                "Id, ContentDocumentId", "ContentVersion", "Id", [e.dest_id for e in group])}
            for e in group:
                doc = docs.get(e.dest_id)
                if doc is None:
                    done.append(e)  # the version is gone already
                else:
                    ids.setdefault(doc, []).append(e)
        else:
            for e in group:
                ids.setdefault(e.dest_id, []).append(e)
        target = DELETE_AS[dest_object]
        id_list = list(ids)
        if target not in ("Group", "ContentDocument") and len(id_list) >= bulk_threshold:
            results = api.bulk_delete(target, id_list)
        else:
            results = api.collection_delete(id_list)
        for r in results:
            if r.success or r.error_code in GONE:
                done.extend(ids.get(r.key, []))
    return done


def baseline_counts(api: SalesforceApi, objects: tuple[str, ...]) -> dict[str, Any]:
    return {o: api.count(o) for o in objects}
