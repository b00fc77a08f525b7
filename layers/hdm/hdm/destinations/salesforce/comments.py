"""CaseComments: insert-only (no custom fields), made idempotent with pending markers and a verification query.

Before sending, every row gets a PENDING crosswalk entry. A re-run finds rows still pending (the earlier
attempt died between the write and the crosswalk update) and looks for them in Salesforce first: the
comments of their Cases are read back and matched on the source reference in their header line
("ref message:42", "(part 2/3)"), never on the whole body (the org may store it with other line endings or
without trailing whitespace). Only rows not found are inserted again. The same check covers
a whole re-run in a fresh folder (the crosswalk lost): the Case upsert reports those Cases as existing
(FOUND_EXISTING), and their comments are looked up before any insert.
"""

from __future__ import annotations

from typing import Any

from hdm.crosswalk.base import CrosswalkEntry, Origin, State, now_iso
from hdm.destinations.salesforce.api import NOT_CORRELATED, RowResult
from hdm.destinations.salesforce.chunk import ChunkRun
from hdm.destinations.salesforce.comment_body import comment_ref
from hdm.destinations.salesforce.records import FOUND_EXISTING

OBJ = "CaseComment"


def _order(row: dict[str, Any]) -> tuple:
    return (row["_lookups"].get("ParentId") or "", row.get("_position", 0), row.get("_part", 0))


def audit_values(run: ChunkRun, rows: list[dict[str, Any]], date_allowed: bool, author_allowed: bool) -> None:
    """Where the org grants "Set Audit Fields upon Record Creation": the original CreatedDate, and CreatedById
    for entries written by an agent matched to a User (others keep the integration user)."""
    if not (date_allowed or author_allowed):
        return
    users = run.resolve({r["_author_agent"] for r in rows if r.get("_author_agent")}) if author_allowed else {}
    for row in rows:
        if date_allowed and row.get("_created_at"):
            row["CreatedDate"] = row["_created_at"]
        user = users.get(row.get("_author_agent") or "")
        if user and user.startswith("005"):
            row["CreatedById"] = user


def load_comments(run: ChunkRun, rows: list[dict[str, Any]], audit: tuple[bool, bool] = (False, False)) -> None:
    rows = sorted(rows, key=_order)
    audit_values(run, rows, *audit)
    prior = run.existing(r["_source_key"] for r in rows)
    parents, found_existing = _parents(run, rows)
    entries: list[CrosswalkEntry] = []
    todo: list[dict[str, Any]] = []
    pending_rows: list[dict[str, Any]] = []
    for row in rows:
        key = row["_source_key"]
        before = next((e for e in prior.get(key, []) if e.dest_object == OBJ), None)
        if row.get("IsPublished") and row.get("_visibility") != "public":
            reason = "refused: an internal entry may never be published"
            run.outcome(key, OBJ, "rejected", None, "INTERNAL_NOTE_GUARD", reason)
            entries.append(run.entry(key, OBJ, State.REJECTED, reason=reason, row=row))
            continue
        if before is not None and before.state == State.LOADED and before.dest_id:
            run.outcome(key, OBJ, "unchanged", before.dest_id)
            continue
        parent = parents.get(row["_lookups"].get("ParentId"))
        if parent is None:
            reason = "its Case was not loaded (rejected, held or skipped): comment not loaded"
            run.outcome(key, OBJ, "skipped", None, "PARENT_NOT_LOADED", reason)
            entries.append(run.entry(key, OBJ, State.SKIPPED, reason=reason, row=row))
            continue
        row["ParentId"] = parent
        if before is not None and before.state == State.PENDING or row["_lookups"]["ParentId"] in found_existing:
            pending_rows.append(row)
        else:
            todo.append(row)
    if pending_rows:
        pending_keys = {k for k, es in prior.items() if any(e.dest_object == OBJ and e.state == State.PENDING
                                                            for e in es)}
        todo.extend(_verify_pending(run, pending_rows, entries, pending_keys))
    if todo:
        stamp = now_iso()
        run.crosswalk.put_many([run.entry(r["_source_key"], OBJ, State.PENDING, updated_at=stamp) for r in todo])
        results = _insert(run, todo)
        stamp = now_iso()
        for row in todo:
            res = results[row["_source_key"]]
            if res.error_code == NOT_CORRELATED:
                # fate unknown: the pending marker stays, and the next run verifies before sending again
                run.outcome(row["_source_key"], OBJ, "held", None, res.error_code,
                            "Bulk result could not be matched to the row; a re-run verifies it")
                continue
            entries.append(run.record(row["_source_key"], OBJ, res, Origin.CREATED, row, None, updated_at=stamp))
    run.crosswalk.put_many(entries)


def _parents(run: ChunkRun, rows: list[dict[str, Any]]) -> tuple[dict[str, str], set[str]]:
    """Case ids by ticket key, and the tickets whose Case existed before the crosswalk knew it (its comments
    may be there already: a re-run in a fresh folder)."""
    ids: dict[str, str] = {}
    found_existing: set[str] = set()
    for key, entries in run.existing(r["_lookups"].get("ParentId") for r in rows if r["_lookups"].get("ParentId")
                                     ).items():
        loaded = [e for e in entries if e.state == State.LOADED and e.dest_id]
        case = next((e for e in loaded if e.dest_object == "Case"), None) or next(iter(loaded), None)
        if case is None:
            continue
        ids[key] = case.dest_id
        if case.reason == FOUND_EXISTING:
            found_existing.add(key)
    return ids, found_existing


def _verify_pending(run: ChunkRun, rows: list[dict[str, Any]], entries: list[CrosswalkEntry],
                    pending_keys: set[str]) -> list[dict[str, Any]]:
    """Rows an earlier attempt may have written (a pending marker, or a Case that was already in the org):
    those found in Salesforce by the reference in their header are recorded, the rest returned."""
    found: dict[tuple[str, str], str] = {}
    for c in run.api.query_in("Id, ParentId, CommentBody", OBJ, "ParentId", {r["ParentId"] for r in rows}):
        ref = comment_ref(c.get("CommentBody"))
        if ref is not None:
            found.setdefault((c["ParentId"], ref), c["Id"])
    resend = []
    for row in rows:
        cid = found.get((row["ParentId"], comment_ref(row["CommentBody"]) or row["_source_key"]))
        if cid and row["_source_key"] in pending_keys:
            run.outcome(row["_source_key"], OBJ, "created", cid, None, "found by verification after an interrupted run")
            entries.append(run.entry(row["_source_key"], OBJ, State.LOADED, Origin.CREATED, cid, row=row))
        elif cid:
            run.outcome(row["_source_key"], OBJ, "unchanged", cid, None, "already in the org (an earlier run of this "
                        "migration whose crosswalk is gone): found by its body, not inserted again")
            entries.append(run.entry(row["_source_key"], OBJ, State.LOADED, Origin.CREATED, cid, row=row))
        else:
            resend.append(row)
    return resend


AUDIT = ("CreatedDate", "CreatedById")


def _insert(run: ChunkRun, rows: list[dict[str, Any]]) -> dict[str, RowResult]:
    payloads = [{"ParentId": r["ParentId"], "IsPublished": bool(r["IsPublished"]), "CommentBody": r["CommentBody"],
                 **{f: r[f] for f in AUDIT if r.get(f)}} for r in rows]
    keys = [r["_source_key"] for r in rows]
    if len(rows) >= run.options.bulk_threshold:
        # Bulk results come back in any order: join on the source reference in the body's header line. One job
        # per set of columns: a blank audit column would mean null, which the org refuses
        out: dict[str, RowResult] = {}
        groups: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}
        for k, p in zip(keys, payloads, strict=True):
            groups.setdefault(tuple(sorted(p)), []).append((k, p))
        for columns, group in groups.items():
            results = run.api.bulk_ingest(OBJ, "insert", [p for _, p in group], list(columns), "CommentBody",
                                          key_of=comment_ref)
            by_ref = {r.key: r for r in results}
            out.update({k: by_ref[str(comment_ref(p["CommentBody"]))] for k, p in group})
        return out
    return {r.key: r for r in run.api.collection_insert(OBJ, keys, payloads)}

