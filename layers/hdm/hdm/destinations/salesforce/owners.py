"""Owners: agents matched to existing Users by email (never created), departments to Queues with members.

Unmatched agents are recorded ``held`` in the crosswalk (the reconciliation queue); what happens to their
Cases depends on the unmatched-agent policy (see records.load_cases).
"""

from __future__ import annotations

from typing import Any

from hdm.crosswalk.base import CrosswalkEntry, Origin, State
from hdm.destinations.salesforce.chunk import ChunkRun


def load_users(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    emails = {r["_email"].casefold() for r in rows if r.get("_email")}
    users: dict[str, dict[str, Any]] = {}
    if emails:
        candidates = set(emails) | {r["_email"] for r in rows if r.get("_email")}
        for u in run.api.query_in("Id, Email, IsActive", "User", "Email", candidates):
            email = (u.get("Email") or "").casefold()
            # an active User wins over an inactive one with the same address
            if email not in users or (u.get("IsActive") and not users[email].get("IsActive")):
                users[email] = u
    entries: list[CrosswalkEntry] = []
    for row in rows:
        key = row["_source_key"]
        email = (row.get("_email") or "").casefold()
        user = users.get(email) if email else None
        if user is None:
            reason = "no Salesforce User has this agent's email (reconciliation queue)" if email else \
                "agent has no email to match a Salesforce User (reconciliation queue)"
            run.outcome(key, "User", "held", None, "UNMATCHED_AGENT", reason)
            run.flag(key, "unmatched_agent", reason, "Email")
            entries.append(run.entry(key, "User", State.HELD, Origin.MATCHED, reason=reason))
            continue
        if not user.get("IsActive", True):
            run.flag(key, "inactive_user", "matched User is inactive: Cases it owns need the audit-fields "
                     "permission (inactive owners)", "OwnerId")
        run.outcome(key, "User", "matched", user["Id"])
        entries.append(run.entry(key, "User", State.LOADED, Origin.MATCHED, user["Id"]))
    run.crosswalk.put_many(entries)


def load_queues(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    """Group(Type=Queue) + QueueSobject(Case) + GroupMember per matched agent; existing queues are matched."""
    prior = run.existing(r["_source_key"] for r in rows)
    by_dev = {g["DeveloperName"]: g for g in run.api.query_in(
        "Id, Name, DeveloperName", "Group", "DeveloperName", [r["DeveloperName"] for r in rows], "Type = 'Queue'")}
    # a Queue made by another migration (its DeveloperName starts "hdm_") is not matched: that migration's
    # rollback would delete it under this one's Cases
    by_name = {(g.get("Name") or "").casefold(): g for g in run.api.query_in(
        "Id, Name, DeveloperName", "Group", "Name", [r["Name"] for r in rows], "Type = 'Queue'")
        if not (g.get("DeveloperName") or "").startswith("hdm_")}
    entries: list[CrosswalkEntry] = []
    created: list[tuple[dict[str, Any], str]] = []
    for row in rows:
        key = row["_source_key"]
        mine = by_dev.get(row["DeveloperName"])
        if mine is not None:  # made by this migration before (re-run)
            before = next((e for e in prior.get(key, []) if e.dest_object == "Group"), None)
            origin = before.origin if before else Origin.CREATED
            run.outcome(key, "Group", "unchanged", mine["Id"])
            entries.append(run.entry(key, "Group", State.LOADED, origin, mine["Id"], row=row))
            created.append((row, mine["Id"]))
            continue
        existing = by_name.get(row["Name"].casefold())
        if existing is not None:
            run.outcome(key, "Group", "matched", existing["Id"], None, "a Queue with this name already existed")
            run.flag(key, "matched_existing", "an existing Queue with the department's name is used, not changed",
                     "Name", "info")
            entries.append(run.entry(key, "Group", State.LOADED, Origin.MATCHED, existing["Id"], row=row))
            continue
        res = run.api.collection_insert("Group", [key], [{"Name": row["Name"], "DeveloperName": row["DeveloperName"],
                                                           "Type": "Queue"}])[0]
        entries.append(run.record(key, "Group", res, Origin.CREATED, row, None))
        if res.success:
            created.append((row, res.id))
    run.crosswalk.put_many(entries)
    _queue_setup(run, created)


def _queue_setup(run: ChunkRun, queues: list[tuple[dict[str, Any], str]]) -> None:
    """Case as the queue's object and its members (only for queues this migration made)."""
    if not queues:
        return
    ids = [qid for _, qid in queues]
    have_sobject = {q["QueueId"] for q in run.api.query_in("Id, QueueId", "QueueSobject", "QueueId", ids,
                                                           "SobjectType = 'Case'")}
    members = {(m["GroupId"], m["UserOrGroupId"]) for m in run.api.query_in("Id, GroupId, UserOrGroupId",
                                                                            "GroupMember", "GroupId", ids)}
    agent_ids = run.resolve({a for row, _ in queues for a in row.get("_members", [])})
    qs_rows, qs_keys, gm_rows, gm_keys = [], [], [], []
    for row, qid in queues:
        if qid not in have_sobject:
            qs_rows.append({"QueueId": qid, "SobjectType": "Case"})
            qs_keys.append(f"{row['_source_key']}/QueueSobject")
        for agent in row.get("_members", []):
            uid = agent_ids.get(agent)
            if uid is None:
                run.flag(row["_source_key"], "member_not_added", f"{agent} has no matched User: not a queue member",
                         "GroupMember")
            elif (qid, uid) not in members:
                gm_rows.append({"GroupId": qid, "UserOrGroupId": uid})
                gm_keys.append(f"{row['_source_key']}/{agent}")
    for sobject, keys, payloads in (("QueueSobject", qs_keys, qs_rows), ("GroupMember", gm_keys, gm_rows)):
        if payloads:
            for res in run.api.collection_insert(sobject, keys, payloads):
                if not res.success:
                    run.flag(res.key.split("/", 1)[0], "queue_setup_failed", f"{sobject}: {res.error_code} "
                             f"{res.message or ''}".strip(), sobject, "error")
