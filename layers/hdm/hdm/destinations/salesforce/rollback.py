"""Rollback: delete what this migration created; matched records (Users, existing Queues/Contacts) and
merged entries are never touched. Works after a failed or partial run (pending entries with an id too)."""

from __future__ import annotations

from typing import Any, Optional

from simple_salesforce.exceptions import SalesforceError

from hdm.crosswalk.base import CrosswalkEntry, Origin
from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.knowledge import rollback_articles
from hdm.destinations.salesforce.legacy_ids import legacy_id, queue_developer_name

GONE = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"}
# deletable objects per crosswalk destination object
DELETE_AS = {"Account": "Account", "Contact": "Contact", "Case": "Case", "CaseComment": "CaseComment",
             "Group": "Group", "ContentVersion": "ContentDocument", "CaseContactRole": "CaseContactRole",
             "hdm_Case_Event__c": "hdm_Case_Event__c", "Topic": "Topic", "TopicAssignment": "TopicAssignment",
             "Knowledge__kav": "Knowledge__kav"}


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
    # articles first: published versions cannot be deleted, they are archived then deleted (knowledge.py)
    done.extend(rollback_articles(api, entries))
    mine = [e for e in entries if e.origin == Origin.CREATED and e.dest_id and e.dest_object in DELETE_AS
            and e.dest_object != "Knowledge__kav"]
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


def _delete(api: SalesforceApi, target: str, ids: list[str], bulk_threshold: int) -> int:
    """Delete records by id; the number gone afterwards (deleted now, or already)."""
    if not ids:
        return 0
    if target not in ("Group", "ContentDocument") and len(ids) >= bulk_threshold:
        results = api.bulk_delete(target, ids)
    else:
        results = api.collection_delete(ids)
    return sum(1 for r in results if r.success or r.error_code in GONE)


def queue_prefix(namespace: str) -> str:
    """The start every Queue DeveloperName of this migration has (see legacy_ids.queue_developer_name)."""
    probe = queue_developer_name(namespace, "0")
    return probe[: probe.rindex("_dept_") + len("_dept_")]


def own_records(api: SalesforceApi, namespace: Optional[str]) -> dict[str, list[str]]:
    """Every record in the org that carries this migration's namespaced legacy ID (or is one of its Queues),
    by the object to delete it through: found without the crosswalk (a fresh state folder, a lost write).
    Other migrations' records (another namespace) and records from before any migration are never listed."""
    if not namespace:
        return {}
    prefix = legacy_id(namespace, "")
    cut = min([i for i, ch in enumerate(prefix) if ch in "%'\\"] + [len(prefix)])
    like = prefix[:cut] + "%"  # a LIKE at least as wide as the prefix ('_' matches itself), narrowed below
    out: dict[str, list[str]] = {}
    for obj in ("Case", "Contact", "Account"):
        rows = api.query(f"SELECT Id, {LEGACY} FROM {obj} WHERE {LEGACY} LIKE '{like}'")
        out[obj] = [r["Id"] for r in rows if str(r.get(LEGACY) or "").startswith(prefix)]
    rows = api.query(f"SELECT Id, ContentDocumentId, {LEGACY} FROM ContentVersion WHERE {LEGACY} LIKE '{like}'")
    out["ContentDocument"] = sorted({r["ContentDocumentId"] for r in rows if r.get("ContentDocumentId")
                                     and str(r.get(LEGACY) or "").startswith(prefix)})
    try:  # case events (a custom object prepare creates; absent before the first prepare)
        rows = api.query(f"SELECT Id, {LEGACY} FROM hdm_Case_Event__c WHERE {LEGACY} LIKE '{like}'")
        out["hdm_Case_Event__c"] = [r["Id"] for r in rows if str(r.get(LEGACY) or "").startswith(prefix)]
    except SalesforceError:
        pass
    qprefix = queue_prefix(namespace)
    rows = api.query(f"SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue' AND DeveloperName LIKE "
                     f"'{qprefix.split('_')[0]}%'")
    out["Group"] = [r["Id"] for r in rows if str(r.get("DeveloperName") or "").startswith(qprefix)]
    return {k: v for k, v in out.items() if v}


def sweep_namespace(api: SalesforceApi, namespace: Optional[str], bulk_threshold: int) -> dict[str, int]:
    """Delete what carries this migration's legacy IDs and the crosswalk did not know (children first:
    deleting a Case deletes its comments). Returns the records deleted per object."""
    found = own_records(api, namespace)
    return {obj: _delete(api, obj, found[obj], bulk_threshold) for obj in
            ("hdm_Case_Event__c", "Case", "Contact", "Account", "ContentDocument", "Group") if found.get(obj)}


def prove_gone(api: SalesforceApi, entries: list[CrosswalkEntry], namespace: Optional[str]) -> dict[str, Any]:
    """Proof that every record this migration created is gone: each created id the crosswalk ever held is
    looked up by ``Id IN (…)``, and the org is searched for this migration's legacy IDs and Queue names."""
    by_obj: dict[str, set[str]] = {}
    for e in entries:
        if e.origin == Origin.CREATED and e.dest_id and e.dest_object in DELETE_AS:
            by_obj.setdefault(e.dest_object, set()).add(e.dest_id)
    remaining_ids: dict[str, list[str]] = {}
    for obj, ids in sorted(by_obj.items()):
        still = [r["Id"] for r in api.query_in("Id", obj, "Id", sorted(ids))]
        if still:
            remaining_ids[obj] = still
    remaining_legacy = {obj: len(ids) for obj, ids in own_records(api, namespace).items()}
    return {"checked_by_id": sum(len(v) for v in by_obj.values()),
            "checked_by_id_per_object": {k: len(v) for k, v in sorted(by_obj.items())},
            "checked_by_legacy_id": bool(namespace),
            "remaining_by_id": {k: len(v) for k, v in remaining_ids.items()},
            "remaining_ids": {k: v[:20] for k, v in remaining_ids.items()},
            "remaining_by_legacy_id": remaining_legacy,
            "remaining": sum(len(v) for v in remaining_ids.values()) + sum(remaining_legacy.values())}


def baseline_counts(api: SalesforceApi, objects: tuple[str, ...]) -> dict[str, Any]:
    return {o: api.count(o) for o in objects}
