"""Load phases for what hangs off a Case besides comments and files (see carry.py for the shapes and why):

- ``case_contacts``: collaborators → CaseContactRole. The object takes no custom fields, so no external ID: a
  link is known by (Case, Contact, Role), which the org keeps unique. Before inserting, the links already on the
  chunk's Cases are read, so a re-run (also from a fresh folder) inserts nothing twice.
- ``case_events``: events → hdm_Case_Event__c, upserted on the legacy ID (Bulk 2.0 at or above the threshold).
"""

from __future__ import annotations

from typing import Any, Optional

from hdm.crosswalk.base import CrosswalkEntry, Origin, State, now_iso
from hdm.destinations.salesforce.chunk import ChunkRun
from hdm.destinations.salesforce.records import LEGACY, upsert_rows

CCR = "CaseContactRole"
EVENT = "hdm_Case_Event__c"


def _hold(run: ChunkRun, row: dict[str, Any], obj: str, entries: list[CrosswalkEntry]) -> bool:
    if not row.get("_hold"):
        return False
    run.outcome(row["_source_key"], obj, "held", None, "HELD", row["_hold"])
    entries.append(run.entry(row["_source_key"], obj, State.HELD, reason=row["_hold"], row=row))
    return True


def _skip(run: ChunkRun, row: dict[str, Any], obj: str, code: str, reason: str,
          entries: list[CrosswalkEntry]) -> None:
    run.outcome(row["_source_key"], obj, "skipped", None, code, reason)
    entries.append(run.entry(row["_source_key"], obj, State.SKIPPED, reason=reason, row=row))


def _natural(case_id: str, contact_id: str, role: Optional[str]) -> tuple[str, str, str]:
    return (case_id, contact_id, (role or "").casefold())


def load_case_contacts(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    resolved = run.resolve({v for r in rows for v in r["_lookups"].values() if v})
    entries: list[CrosswalkEntry] = []
    todo: list[dict[str, Any]] = []
    for row in rows:
        key = row["_source_key"]
        before = next((e for e in prior.get(key, []) if e.dest_object == CCR), None)
        if before is not None and before.state == State.LOADED and before.dest_id:
            run.outcome(key, CCR, "unchanged", before.dest_id)
            continue
        if _hold(run, row, CCR, entries):
            continue
        case_id = resolved.get(row["_lookups"]["CasesId"])
        contact_id = resolved.get(row["_lookups"]["ContactId"])
        if case_id is None:
            _skip(run, row, CCR, "PARENT_NOT_LOADED", "its Case was not loaded (rejected, held or skipped): "
                  "collaborator not linked", entries)
            continue
        if contact_id is None:
            _skip(run, row, CCR, "CONTACT_NOT_LOADED", "the collaborator's Contact was not loaded (rejected or "
                  "held): collaborator not linked", entries)
            continue
        row["CasesId"], row["ContactId"] = case_id, contact_id
        todo.append(row)
    # what is on these Cases already (an earlier run, or a run whose crosswalk is gone)
    there: dict[tuple[str, str, str], str] = {}
    if todo:
        for r in run.api.query_in("Id, CasesId, ContactId, Role", CCR, "CasesId", {r["CasesId"] for r in todo}):
            there.setdefault(_natural(r["CasesId"], r["ContactId"], r.get("Role")), r["Id"])
    send: list[dict[str, Any]] = []
    firsts: dict[tuple[str, str, str], dict[str, Any]] = {}
    twins: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for row in todo:
        nat = _natural(row["CasesId"], row["ContactId"], row.get("Role"))
        if nat in there:
            run.outcome(row["_source_key"], CCR, "unchanged", there[nat], None,
                        "already on the Case (an earlier run of this migration): not inserted again")
            entries.append(run.entry(row["_source_key"], CCR, State.LOADED, Origin.CREATED, there[nat], row=row))
        elif nat in firsts:
            twins.append((row, firsts[nat]))  # two osTicket users merged into one Contact, on the same ticket
        else:
            firsts[nat] = row
            send.append(row)
    if send:
        stamp = now_iso()
        run.crosswalk.put_many([run.entry(r["_source_key"], CCR, State.PENDING, updated_at=stamp) for r in send])
        keys = [r["_source_key"] for r in send]
        payloads = [{"CasesId": r["CasesId"], "ContactId": r["ContactId"], "Role": r.get("Role")} for r in send]
        results = {r.key: r for r in run.api.collection_insert(CCR, keys, payloads)}
        stamp = now_iso()
        for row in send:
            entries.append(run.record(row["_source_key"], CCR, results[row["_source_key"]], Origin.CREATED, row,
                                      None, updated_at=stamp))
    ids = {e.source_key: e.dest_id for e in entries if e.state == State.LOADED}
    for row, first in twins:
        target = ids.get(first["_source_key"])
        key = row["_source_key"]
        if target is None:
            _skip(run, row, CCR, "MERGE_TARGET_MISSING", "its twin (same Contact on the same Case) was not linked",
                  entries)
            continue
        run.outcome(key, CCR, "matched", target, None, "same Contact (merged users) already linked to this Case")
        run.flag(key, "merged", "two osTicket collaborators are one Contact: one contact role on the Case", "ContactId",
                 "info")
        entries.append(run.entry(key, CCR, State.LOADED, Origin.MERGED, target, row=row))
    run.crosswalk.put_many(entries)


def load_case_events(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    obj = next((r["_object"] for r in rows if r.get("_object")), EVENT)  # the mapping's target (default EVENT)
    prior = run.existing(r["_source_key"] for r in rows)
    resolved = run.resolve({v for r in rows for v in r["_lookups"].values() if v})
    entries: list[CrosswalkEntry] = []
    todo: list[dict[str, Any]] = []
    for row in rows:
        if _hold(run, row, obj, entries):
            continue
        case_id = resolved.get(row["_lookups"].get("Case__c"))
        if case_id is None:
            _skip(run, row, obj, "PARENT_NOT_LOADED", "its Case was not loaded (rejected, held or skipped): "
                  "event not loaded", entries)
            continue
        row["Case__c"] = case_id
        todo.append(row)
    results = upsert_rows(run, obj, todo)
    stamp = now_iso()
    for row in todo:
        before = next((e for e in prior.get(row["_source_key"], []) if e.dest_object == obj), None)
        entries.append(run.record(row["_source_key"], obj, results[row[LEGACY]], Origin.CREATED, row, before,
                                  updated_at=stamp))
    run.crosswalk.put_many(entries)
