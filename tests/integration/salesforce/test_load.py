"""The Salesforce loader against the emulator, through the real simple-salesforce client over HTTPS."""

from __future__ import annotations

import pytest
from dataset import load_all, rollback_all, small_dataset, transform_all
from hdm.crosswalk.base import Origin, State
from hdm.destinations.salesforce import DailyLimitExceeded

MIG = "mig-1"


def _load(make_dest, stage, crosswalk, run="run-1", **opts):
    dest = make_dest(**opts)
    dest.prepare({})
    chunks = transform_all(dest, small_dataset(stage))
    return dest, chunks, load_all(dest, chunks, crosswalk, MIG, run)


def _outcomes(results):
    return {o.source_key: o for r in results for o in r.outcomes}


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_every_record_arrives_by_the_rules(make_dest, stage, crosswalk, sf_admin, sf_factory, bulk_threshold):
    dest, chunks, results = _load(make_dest, stage, crosswalk, bulk_threshold=bulk_threshold)
    out = _outcomes(results)
    sf = sf_factory()
    counts = sf_admin.counts()
    assert (counts["Account"], counts["Contact"], counts["Case"]) == (2, 4, 6)
    # agents: matched by email, never created; the unmatched one waits in the reconciliation queue
    assert out["agent:1"].status == "matched" and out["agent:2"].status == "held"
    assert crosswalk.get(MIG, "agent:2", "User").state == State.HELD
    assert counts["User"] == 2 + 1  # the seeded users and the API user: none created
    # same-named organisations become one Account, the second merged and flagged
    assert out["organization:2"].status == "matched" and out["organization:2"].dest_id == out["organization:1"].dest_id
    assert crosswalk.get(MIG, "organization:2", "Account").origin == Origin.MERGED
    flags = [f for r in results for f in r.flags]
    assert any(f["source_key"] == "organization:2" and f["code"] == "merged" for f in flags)
    assert any(f["source_key"] == "contact:3" and f["code"] == "orphan_contact" for f in flags)
    # contacts link to their Account through the crosswalk, orphans have none
    contacts = {c["hdm_Legacy_Id__c"]: c
                for c in sf.query("SELECT Id, AccountId, hdm_Legacy_Id__c FROM Contact")["records"]}
    assert contacts["contact:2"]["AccountId"] == out["organization:1"].dest_id
    assert contacts["contact:3"]["AccountId"] is None
    # cases: owner from the matched agent, default owner for the unmatched one, values mapped
    cases = {c["hdm_Legacy_Id__c"]: c for c in sf.query(
        "SELECT Id, OwnerId, Status, Priority, ParentId, ContactId, hdm_Ticket_Number__c, case_help_topic__c, "
        "hdm_Original_Created_At__c, hdm_Legacy_Id__c FROM Case")["records"]}
    owner = sf.query("SELECT Id FROM User WHERE Email = 'owner@helpdesk.test'")["records"][0]["Id"]
    assert cases["ticket:1"]["OwnerId"] == out["agent:1"].dest_id
    assert cases["ticket:2"]["OwnerId"] == owner
    assert cases["ticket:5"]["Status"] == "Closed" and cases["ticket:3"]["Status"] == "New"  # archived, open
    assert cases["ticket:3"]["Priority"] == "High"  # emergency
    assert cases["ticket:1"]["hdm_Ticket_Number__c"] == "100001"
    assert cases["ticket:1"]["case_help_topic__c"] == "Billing"
    assert cases["ticket:1"]["hdm_Original_Created_At__c"].startswith("2023-02-11T08:00:00")
    assert cases["ticket:6"]["ParentId"] == cases["ticket:1"]["Id"]  # merged child points at its parent
    assert any(f["source_key"] == "ticket:2" and f["code"] == "default_owner" for f in flags)
    assert any(f["code"] == "lossy_value" and f["field"] == "Status" for f in flags)
    # comments: internal notes unpublished, long bodies in ordered parts, author and time in the header
    comments = sf.query_all("SELECT Id, ParentId, IsPublished, CommentBody FROM CaseComment")["records"]
    assert len(comments) == sum(len(rows) for rows in chunks["comments"])
    for c in comments:
        internal = "note]" in c["CommentBody"].split("\n", 1)[0]
        assert c["IsPublished"] is (not internal), c["CommentBody"][:80]
    assert all(len(c["CommentBody"].encode()) <= 4000 for c in comments)
    parts = sorted(c["CommentBody"] for c in comments if "ref message:103 (part" in c["CommentBody"])
    assert len(parts) >= 2 and all(f"/{len(parts)})" in p for p in parts)
    # the author and the original time are kept; a published comment shows no e-mail address to the customer
    assert any("Carol Customer · 2023-01-01 08:00:00 UTC" in c["CommentBody"] and c["IsPublished"] for c in comments)
    assert not any("@" in c["CommentBody"].split("\n", 1)[0] for c in comments if c["IsPublished"])
    # files: internal-note files visible to internal users only; .exe held with its reason, not dropped
    links = sf.query_all("SELECT ContentDocumentId, LinkedEntityId, Visibility FROM ContentDocumentLink")["records"]
    vis = {}
    for v in sf.query_all("SELECT Id, ContentDocumentId, Title FROM ContentVersion")["records"]:
        vis[v["Title"]] = {link["Visibility"] for link in links if link["ContentDocumentId"] == v["ContentDocumentId"]
                           and link["LinkedEntityId"] in {c["Id"] for c in cases.values()}}
    assert vis["notes1.txt"] == {"InternalUsers"} and "InternalUsers" not in vis["log1.txt"]
    assert out["attachment:9999"].status == "held" and ".exe" in out["attachment:9999"].message
    assert crosswalk.get(MIG, "attachment:9999", "ContentVersion").state == State.HELD
    # every row is accounted for, and reading back finds no field that differs from its source
    assert all(o.status != "rejected" for o in out.values())
    for phase, phase_chunks in chunks.items():
        for rows in phase_chunks:
            assert dest.verify_chunk(phase, rows, crosswalk, MIG) == []


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_a_rerun_creates_no_duplicate(make_dest, stage, crosswalk, sf_admin, bulk_threshold):
    dest, chunks, _ = _load(make_dest, stage, crosswalk, bulk_threshold=bulk_threshold)
    before = sf_admin.counts()
    results = load_all(dest, chunks, crosswalk, MIG, "run-2")
    assert sf_admin.counts() == before
    statuses = {o.status for r in results for o in r.outcomes}
    assert "created" not in statuses


def test_rollback_leaves_the_org_as_it_was(make_dest, stage, crosswalk, sf_admin):
    dest = make_dest()
    baseline = dest.baseline()
    users_before = sf_admin.counts()["User"]
    dest.prepare({})
    load_all(dest, transform_all(dest, small_dataset(stage)), crosswalk, MIG, "run-1")
    assert dest.baseline() != baseline
    rollback_all(dest, crosswalk, MIG, "rb-1")
    assert dest.baseline() == baseline
    assert sf_admin.counts()["User"] == users_before  # matched Users untouched
    assert crosswalk.get(MIG, "agent:1", "User").state == State.LOADED  # matched entries stay as they were


def test_rollback_after_a_partial_run(make_dest, stage, crosswalk, sf_admin):
    dest = make_dest()
    baseline = dest.baseline()
    dest.prepare({})
    chunks = transform_all(dest, small_dataset(stage))
    load_all(dest, chunks, crosswalk, MIG, "run-1", phases=["users", "queues", "accounts", "contacts", "cases"])
    rollback_all(dest, crosswalk, MIG, "rb-1")
    assert dest.baseline() == baseline


def test_rollback_finds_records_whose_write_landed_but_whose_id_never_reached_the_crosswalk(
        make_dest, stage, crosswalk, sf_admin):
    dest = make_dest()
    baseline = dest.baseline()
    dest.prepare({})
    load_all(dest, transform_all(dest, small_dataset(stage)), crosswalk, MIG, "run-1")
    # a crash between the uploads and the crosswalk update: files and cases left pending, without ids
    lost = [e for e in crosswalk.iter_migration(MIG) if e.dest_object in ("ContentVersion", "Case")
            and e.state == State.LOADED]
    assert any(e.dest_object == "ContentVersion" for e in lost)
    for e in lost:
        e.state, e.dest_id = State.PENDING, None
    crosswalk.put_many(lost)
    rollback_all(dest, crosswalk, MIG, "rb-1")
    assert dest.baseline() == baseline


def test_block_policy_holds_cases_of_unmatched_agents(make_dest, stage, crosswalk, sf_admin):
    _, _, results = _load(make_dest, stage, crosswalk, unmatched_agent_policy="block")
    out = _outcomes(results)
    assert out["ticket:2"].status == "held" and out["ticket:2"].error_code == "UNMATCHED_AGENT"
    assert crosswalk.get(MIG, "ticket:2", "Case").state == State.HELD
    assert sf_admin.counts()["Case"] == 5
    assert all(out[k].status == "skipped" for k in out if k.startswith("message:2") and "#" in k)


def test_prepare_is_idempotent(make_dest, sf_admin):
    dest = make_dest()
    first = dest.prepare({})
    second = dest.prepare({})
    assert first["created"] and not first["failed"]
    assert second["created"] == [] and sorted(second["verified"]) == sorted(first["created"])


def test_assignment_rules_do_not_reassign_migrated_cases(make_dest, stage, crosswalk, sf_admin, sf_factory):
    sf_admin.seed(queues=[{"Name": "Triage", "DeveloperName": "Triage"}])
    sf_admin.knobs(assignment_rules={"Case": {"queue": "Triage"}})
    _, _, results = _load(make_dest, stage, crosswalk)
    out = _outcomes(results)
    case = sf_factory().query("SELECT OwnerId FROM Case WHERE hdm_Legacy_Id__c = 'ticket:1'")["records"][0]
    assert case["OwnerId"] == out["agent:1"].dest_id


def test_daily_limit_stops_with_a_dedicated_exception(make_dest, stage, crosswalk, sf_admin):
    dest = make_dest()
    dest.prepare({})
    chunks = transform_all(dest, small_dataset(stage))
    sf_admin.knobs(daily_api_max=10)
    sf_admin.set_api_usage(10)
    with pytest.raises(DailyLimitExceeded, match="REQUEST_LIMIT_EXCEEDED"):
        load_all(dest, chunks, crosswalk, MIG, "run-1")
