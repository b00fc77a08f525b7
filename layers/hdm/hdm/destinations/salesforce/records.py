"""Accounts, Contacts, Cases and Case parent links: upserts on the legacy external ID (idempotent).

Dedupe happens before writing: Accounts by merge key (the organisation name, case-insensitive), Contacts
by email. A source record whose twin was already loaded points at the same record (origin ``merged``); a
Contact whose email belongs to a Contact that existed before the migration is ``matched`` and not touched.
"""

from __future__ import annotations

from typing import Any, Optional

from simple_salesforce.exceptions import SalesforceError

from hdm.crosswalk.base import CrosswalkEntry, Origin, State
from hdm.destinations.salesforce.account_merge import (
    MergeOutcome,
    data_fields,
    fold_group,
    keep_existing_merges,
    merge_values,
)
from hdm.destinations.salesforce.api import AUTO_ASSIGN_OFF, RowResult
from hdm.destinations.salesforce.chunk import ChunkRun, payload_of
from hdm.destinations.salesforce.field_check import FIELD_DROPPED, fields_named_by, kept_original
from hdm.destinations.salesforce.legacy_ids import is_own_legacy_id

LEGACY = "hdm_Legacy_Id__c"
MERGE_KEY = "hdm_Merge_Key__c"
FOUND_EXISTING = "found existing: the upsert matched a record the crosswalk did not know"
AUDIT_FIELDS = ("CreatedDate", "ClosedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")
KEY_FIELDS = frozenset({LEGACY, MERGE_KEY, "Id"})  # never left out: they are what ties the record to its source
# refusals a retry without a field cannot fix (or that other logic handles: duplicates are merges, transient
# codes are retried by the API layer)
NO_FIELD_RETRY = frozenset({"DUPLICATE_VALUE", "UNABLE_TO_LOCK_ROW", "REQUIRED_FIELD_MISSING",
                            "ALL_OR_NONE_OPERATION_ROLLED_BACK", "RESULT_NOT_CORRELATED", "REQUEST_LIMIT_EXCEEDED"})


def upsert_rows(run: ChunkRun, sobject: str, rows: list[dict[str, Any]], headers: Optional[dict[str, str]] = None
                ) -> dict[str, RowResult]:
    """Upsert payloads by the legacy ID: Bulk 2.0 at or above the threshold, else sObject Collections."""
    if not rows:
        return {}
    payloads = [payload_of(r) for r in rows]
    if len(payloads) >= run.options.bulk_threshold:
        columns = sorted({k for p in payloads for k in p})
        results = run.api.bulk_ingest(sobject, "upsert", payloads, columns, LEGACY, ext_field=LEGACY)
    else:
        results = run.api.collection_upsert(sobject, LEGACY, payloads, headers=headers)
    out = {r.key: r for r in results}
    # a write on an existing record must not carry audit fields (insert only): send those rows again without
    again = [p for p in payloads if not out[p[LEGACY]].success and out[p[LEGACY]].error_code in (
        "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_FIELD") and any(f in p for f in AUDIT_FIELDS)]
    if again:
        stripped = [{k: v for k, v in p.items() if k not in AUDIT_FIELDS} for p in again]
        for r in run.api.collection_upsert(sobject, LEGACY, stripped, headers=headers):
            out[r.key] = r
    _retry_without_named_fields(run, sobject, rows, payloads, out, headers)
    return out


def _retry_without_named_fields(run: ChunkRun, sobject: str, rows: list[dict[str, Any]],
                                payloads: list[dict[str, Any]], out: dict[str, RowResult],
                                headers: Optional[dict[str, str]]) -> None:
    """The org refused a record and named a field (a validation rule, a value it would not take): send the
    record once more without that field, and flag what was left out (the original value kept in the flag)."""
    retry: list[tuple[dict[str, Any], list[str], RowResult]] = []
    for p in payloads:
        first = out[p[LEGACY]]
        if first.success or first.error_code in NO_FIELD_RETRY:
            continue
        named = [f for f in fields_named_by(first.fields, first.message, p) if f not in KEY_FIELDS]
        if named:
            retry.append((p, named, first))
    if not retry:
        return
    stripped = [{k: v for k, v in p.items() if k not in named} for p, named, _ in retry]
    again = {r.key: r for r in run.api.collection_upsert(sobject, LEGACY, stripped, headers=headers)}
    row_of = {r[LEGACY]: r for r in rows}
    for p, named, first in retry:
        second = again.get(p[LEGACY])
        if second is None:
            continue
        out[p[LEGACY]] = second
        if not second.success:
            continue
        row = row_of.get(p[LEGACY]) or {}
        for f in named:
            if f in row:
                row[f] = None  # loaded without it: verification expects it empty (the flag keeps the original)
            run.result.flags.append({
                "source_key": row.get("_source_key"), "code": FIELD_DROPPED, "field": f, "severity": "warning",
                "reason": f"the org refused the record over {sobject}.{f} ({first.error_code}: {first.message}): "
                          "loaded without that field", "original": kept_original(p.get(f)), "loaded_as": None})


def _load_upserts(run: ChunkRun, sobject: str, rows: list[dict[str, Any]], prior: dict[str, list[CrosswalkEntry]],
                  headers: Optional[dict[str, str]] = None) -> list[CrosswalkEntry]:
    results = upsert_rows(run, sobject, rows, headers)
    entries = []
    for row in rows:
        key = row["_source_key"]
        before = next((e for e in prior.get(key, []) if e.dest_object == sobject), None)
        res = results[row[LEGACY]]
        entry = run.record(key, sobject, res, Origin.CREATED, row, before)
        if res.success and res.created is False and (before is None or before.state != State.LOADED):
            # the org had it already though the crosswalk did not (a re-run in a fresh folder): the phases of its
            # children look for what is already there before they insert (CaseComment has no external id)
            entry.reason = FOUND_EXISTING
        entries.append(entry)
    return entries


def _strip_audit_for_reruns(rows: list[dict[str, Any]], prior: dict[str, list[CrosswalkEntry]]) -> None:
    for row in rows:
        if any(e.state == State.LOADED for e in prior.get(row["_source_key"], [])):
            for f in AUDIT_FIELDS:
                row.pop(f, None)


# -- accounts -------------------------------------------------------------------------------------

def load_accounts(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[MERGE_KEY], []).append(row)
    found = {r[MERGE_KEY]: r for r in run.api.query_in(f"Id, {LEGACY}, {MERGE_KEY}", "Account", MERGE_KEY, groups)}
    creators: list[dict[str, Any]] = []
    merged: list[tuple[dict[str, Any], str]] = []  # (row, merge key) merged into the group's Account
    folded: dict[str, MergeOutcome] = {}  # merged row key → what its creator's row kept of it
    for mkey, group in groups.items():
        hit = found.get(mkey)
        own = next((r for r in group if hit and r[LEGACY] == hit.get(LEGACY)), None)
        if hit and own is None:
            merged.extend((r, mkey) for r in group)
            continue
        creator = own or group[0]
        creators.append(creator)
        others = [r for r in group if r is not creator]
        merged.extend((r, mkey) for r in others)
        folded.update(fold_group(creator, others))  # the merged ones' values, kept on the creator's row
    rewritten = [(r, found[r[MERGE_KEY]]["Id"]) for r in creators if found.get(r[MERGE_KEY])]
    if rewritten:  # written again over its Account (a re-run): what merges put there stays
        _keep_existing(run, rewritten)
    entries = _load_upserts(run, "Account", creators, prior)
    ids = {e.source_key: e.dest_id for e in entries if e.state == State.LOADED}
    by_mkey = {r[MERGE_KEY]: ids.get(r["_source_key"]) for r in creators}
    # a concurrent chunk made the same name first: those rows are merges too
    raced = [e for e in entries if e.state == State.REJECTED and (e.reason or "").startswith("DUPLICATE_VALUE")]
    if raced:
        keys = {e.source_key for e in raced}
        race_rows = [r for r in creators if r["_source_key"] in keys]
        again = {r[MERGE_KEY]: r for r in run.api.query_in(f"Id, {LEGACY}, {MERGE_KEY}", "Account", MERGE_KEY,
                                                               [r[MERGE_KEY] for r in race_rows])}
        entries = [e for e in entries if e.source_key not in keys]
        run.result.outcomes = [o for o in run.result.outcomes if o.source_key not in keys]
        for r in race_rows:
            found[r[MERGE_KEY]] = again.get(r[MERGE_KEY]) or {}
            merged.append((r, r[MERGE_KEY]))
    onto_existing: list[tuple[dict[str, Any], str]] = []
    for row, mkey in merged:
        created = by_mkey.get(mkey)
        target = created or (found.get(mkey) or {}).get("Id")
        entry = _record_merge(run, "Account", row, target, "same-named organisation", "Name")
        entries.append(entry)
        if entry.state != State.LOADED:
            continue
        if created and row["_source_key"] in folded:
            _flag_kept(run, row, folded[row["_source_key"]])
        else:  # an Account made by another chunk or run: its values are read and updated
            onto_existing.append((row, target))
    if onto_existing:
        keep_on_existing_accounts(run, onto_existing)
    run.crosswalk.put_many(entries)


def _keep_existing(run: ChunkRun, pairs: list[tuple[dict[str, Any], str]]) -> None:
    fields = sorted({f for row, _ in pairs for f in data_fields(row)} | {"Description"})
    try:
        current = {r["Id"]: r for r in run.api.query_in(", ".join(["Id", *fields]), "Account", "Id",
                                                        {t for _, t in pairs})}
    except SalesforceError as exc:
        for row, _ in pairs:
            run.flag(row["_source_key"], "merged_values_lost", "its Account could not be read before it was written "
                     f"again; values earlier merges put there may be overwritten: {exc.__class__.__name__}", None)
        return
    for row, target in pairs:
        if target in current:
            keep_existing_merges(row, current[target])


def _flag_kept(run: ChunkRun, row: dict[str, Any], outcome: MergeOutcome) -> None:
    if outcome.filled or outcome.noted:
        run.flag(row["_source_key"], "merged_values_kept", f"its own values are kept on the merged Account: "
                 f"{outcome.summary()}", "Description" if outcome.noted else None, "info")
    if outcome.truncated:
        run.flag(row["_source_key"], "truncated", "the merged Account's Description reached 32,000 characters; "
                 "the end of the merged values was cut", "Description")


def keep_on_existing_accounts(run: ChunkRun, pairs: list[tuple[dict[str, Any], str]]) -> None:
    """Merged organisations whose Account already existed: fill its empty fields and note differing values in its
    Description (read first; a block already written by an earlier run is not written again)."""
    fields = sorted({f for row, _ in pairs for f in data_fields(row)} | {"Description", "Name"})
    try:
        current = {r["Id"]: r for r in run.api.query_in(", ".join(["Id", *fields]), "Account", "Id",
                                                        {t for _, t in pairs})}
    except SalesforceError as exc:
        for row, _ in pairs:
            run.flag(row["_source_key"], "merged_values_lost", f"the merged Account could not be read, so this "
                     f"organisation's own values were not kept on it: {exc.__class__.__name__}", None)
        return
    updates: dict[str, dict[str, Any]] = {}
    outcomes: list[tuple[dict[str, Any], str, MergeOutcome]] = []
    for row, target in pairs:
        account = {**current.get(target, {}), **updates.get(target, {})}
        outcome = merge_values(account, row)
        if outcome.changes:
            updates.setdefault(target, {}).update(outcome.changes)
        outcomes.append((row, target, outcome))
    failed: dict[str, str] = {}
    if updates:
        for res in run.api.collection_update("Account", [{"Id": t, **ch} for t, ch in updates.items()]):
            if not res.success:
                failed[res.key] = f"{res.error_code}: {res.message}"
    for row, target, outcome in outcomes:
        if target in failed and (outcome.filled or outcome.noted):
            run.flag(row["_source_key"], "merged_values_lost", "the merged Account refused this organisation's "
                     f"own values ({failed[target]}): not kept", None)
        else:
            _flag_kept(run, row, outcome)


def _record_merge(run: ChunkRun, obj: str, row: dict[str, Any], target: Optional[str], twin: str,
                  field: str) -> CrosswalkEntry:
    """A source record merged into the destination record of its twin (same name, same e-mail): flagged;
    rejected with the reason when the twin itself did not load."""
    key = row["_source_key"]
    if not target:
        reason = f"its {twin} was not loaded, so there is no {obj} to merge into"
        run.outcome(key, obj, "rejected", None, "MERGE_TARGET_MISSING", reason)
        return run.entry(key, obj, State.REJECTED, Origin.MERGED, reason=reason, row=row)
    run.outcome(key, obj, "matched", target, None, f"merged into the {obj} of its {twin}")
    run.flag(key, "merged", f"has the same {field} as another record ({twin}): merged into one {obj}", field)
    return run.entry(key, obj, State.LOADED, Origin.MERGED, target, row=row)


# -- contacts -------------------------------------------------------------------------------------

def load_contacts(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    accounts = run.resolve(r["_lookups"].get("AccountId") for r in rows)
    emails = {r["_dedupe_email"] for r in rows if r.get("_dedupe_email")}
    found: dict[str, dict[str, Any]] = {}
    namespace = run.options.legacy_namespace
    if emails:
        for rec in run.api.query_in(f"Id, Email, {LEGACY}", "Contact", "Email", emails):
            email = (rec.get("Email") or "").casefold()
            if is_own_legacy_id(namespace, rec.get(LEGACY)):
                found[email] = rec  # this migration's Contact comes first
            elif not rec.get(LEGACY):
                found.setdefault(email, rec)  # in the org before any migration: matched, never changed
            # another migration's Contact is not this one's to merge into (its rollback would delete it)
    to_write: list[dict[str, Any]] = []
    entries: list[CrosswalkEntry] = []
    first_by_email: dict[str, dict[str, Any]] = {}
    merged: list[tuple[dict[str, Any], str]] = []
    for row in rows:
        key = row["_source_key"]
        email = row.get("_dedupe_email")
        org = row["_lookups"].get("AccountId")
        if org:
            row["AccountId"] = accounts.get(org)
            if row["AccountId"] is None:
                run.flag(key, "unresolved_lookup", "its organisation was not loaded: Contact loaded without Account",
                         "AccountId")
        hit = found.get(email) if email else None
        if hit and hit.get(LEGACY) != row[LEGACY]:
            if hit.get(LEGACY):
                merged.append((row, hit["Id"]))
            else:
                run.outcome(key, "Contact", "matched", hit["Id"], None, "a Contact with this email already existed")
                run.flag(key, "matched_existing", "a Contact with this email existed before the migration: "
                         "linked to it, not changed", "Email", "info")
                entries.append(run.entry(key, "Contact", State.LOADED, Origin.MATCHED, hit["Id"], row=row))
            continue
        if email and email in first_by_email:
            merged.append((row, email))
            continue
        if email:
            first_by_email[email] = row
        to_write.append(row)
    entries.extend(_load_upserts(run, "Contact", to_write, prior))
    ids = {e.source_key: e.dest_id for e in entries if e.state == State.LOADED}
    for row, target in merged:
        dest = ids.get(first_by_email[target]["_source_key"]) if target in first_by_email else target
        entries.append(_record_merge(run, "Contact", row, dest, "same-email user", "Email"))
    run.crosswalk.put_many(entries)


# -- cases ----------------------------------------------------------------------------------------

def apply_audit_fields(run: ChunkRun, row: dict[str, Any], allowed: bool) -> None:
    """Audit fields (CreatedDate) go in only when the org allows them; otherwise the custom date fields
    keep the original and the row is flagged."""
    for field_name, spec in (row.get("_audit") or {}).items():
        if spec["when"] == ("allowed" if allowed else "not_allowed"):
            row[field_name] = spec["value"]
        elif spec["value"] is not None and spec["when"] == "allowed":
            run.flag(row["_source_key"], "audit_date_in_custom_field", "the org does not allow audit fields: "
                     "original dates kept in hdm_Original_*_At__c", field_name, "info")


def load_cases(run: ChunkRun, rows: list[dict[str, Any]], default_owner_id: Optional[str],
               audit_allowed: bool = False) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    refs = set()
    for r in rows:
        refs.update(v for v in r["_lookups"].values() if v)
        refs.update(v for v in (r.get("_owner") or {}).values() if v)
    resolved = run.resolve(refs)
    held_agents = {k for k, es in run.existing(
        [(r.get("_owner") or {}).get("agent") for r in rows if (r.get("_owner") or {}).get("agent")]
    ).items() if any(e.state == State.HELD for e in es)}
    to_write: list[dict[str, Any]] = []
    entries: list[CrosswalkEntry] = []
    for row in rows:
        key = row["_source_key"]
        apply_audit_fields(run, row, audit_allowed)
        for fld, ref in row["_lookups"].items():
            row[fld] = resolved.get(ref)
            if row[fld] is None:
                run.flag(key, "unresolved_lookup", f"{fld} source record was not loaded; left empty", fld)
        agent = (row.get("_owner") or {}).get("agent")
        dept = (row.get("_owner") or {}).get("queue")
        owner = resolved.get(agent) if agent else None
        if agent and owner is None:
            if run.options.unmatched_agent_policy == "block":
                reason = "assigned agent has no matching Salesforce User (policy block): held for reconciliation"
                run.outcome(key, "Case", "held", None, "UNMATCHED_AGENT", reason)
                entries.append(run.entry(key, "Case", State.HELD, Origin.CREATED, reason=reason, row=row))
                continue
            owner = default_owner_id
            why = "unmatched agent" if agent in held_agents else "agent not matched"
            run.flag(key, "default_owner", f"{why}: Case owned by the default owner; original agent kept in "
                     "hdm_Original_Agent__c", "OwnerId")
        if owner is None and dept:
            owner = resolved.get(dept)
        if owner is None:
            owner = default_owner_id
        if owner:
            row["OwnerId"] = owner
        to_write.append(row)
    _strip_audit_for_reruns(to_write, prior)
    for row in to_write:  # a merged child whose parent is gone (deleted in the source, a delta run): unlink it
        link = next((e for e in prior.get(row["_source_key"], []) if e.dest_object == "Case.ParentId"
                     and e.state == State.LOADED), None)
        if link is not None and row.get("_parent_link") is False:
            row["ParentId"] = None
            link.state, link.reason = State.SKIPPED, "the parent ticket is gone from the source: link cleared"
            entries.append(link)
    entries.extend(_load_upserts(run, "Case", to_write, prior, headers=AUTO_ASSIGN_OFF))
    run.crosswalk.put_many(entries)


def load_case_parents(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    """Merged child tickets point at their parent Case (ParentId), once every Case exists."""
    resolved = run.resolve([r["_lookups"]["ParentId"] for r in rows] + [r["_source_key"] for r in rows])
    to_write, entries = [], []
    for row in rows:
        key = row["_source_key"]
        parent = resolved.get(row["_lookups"]["ParentId"])
        if key not in resolved or parent is None:
            reason = "the child or the parent Case was not loaded: link not set"
            run.outcome(key, "Case.ParentId", "skipped", None, "PARENT_NOT_LOADED", reason)
            entries.append(run.entry(key, "Case.ParentId", State.SKIPPED, Origin.MATCHED, reason=reason, row=row))
            continue
        row["ParentId"] = parent
        to_write.append(row)
    results = upsert_rows(run, "Case", to_write, headers=AUTO_ASSIGN_OFF)
    for row in to_write:
        res = results[row[LEGACY]]
        e = run.record(row["_source_key"], "Case.ParentId", res, Origin.MATCHED, row, None)
        if res.success:  # an update of a Case this migration created: rollback deletes the Case itself
            run.result.outcomes[-1].status = "updated"
        entries.append(e)
    run.crosswalk.put_many(entries)
