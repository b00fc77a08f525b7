"""Reliability against the emulator's knobs: injected faults, validation-rule rejections, interrupted loads."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from dataset import load_all, rollback_all, small_dataset, transform_all
from hdm.crosswalk.sqlite import SqliteCrosswalk

MIG = "mig-r"
FAULTS = {"seed": 7, "rate_429": 0.02, "rate_503": 0.02, "rate_reset": 0.01, "rate_lock_row": 0.05}
# rules on the whole record (a rule naming a field costs that field, not the record: see test_field_values.py)
RULES = {"Case": {"fraction": 0.10, "message": "Subject must name a product", "fields": []},
         "Contact": {"fraction": 0.10, "message": "Phone required", "fields": []}}


def org_signature(sf) -> dict:
    """The org's migrated content, independent of record ids (for comparing two runs)."""
    cases = {c["Id"]: c["hdm_Legacy_Id__c"] for c in sf.query_all("SELECT Id, hdm_Legacy_Id__c FROM Case")["records"]}
    return {
        "accounts": Counter(a["hdm_Legacy_Id__c"] for a in sf.query_all("SELECT hdm_Legacy_Id__c FROM Account")[
            "records"]),
        "contacts": Counter(c["hdm_Legacy_Id__c"] for c in sf.query_all("SELECT hdm_Legacy_Id__c FROM Contact")[
            "records"]),
        "cases": Counter(cases.values()),
        "comments": Counter((cases.get(c["ParentId"]), c["IsPublished"], c["CommentBody"]) for c in sf.query_all(
            "SELECT ParentId, IsPublished, CommentBody FROM CaseComment")["records"]),
        "files": Counter(v["hdm_Legacy_Id__c"] for v in sf.query_all("SELECT hdm_Legacy_Id__c FROM ContentVersion")[
            "records"]),
        "queues": Counter(g["DeveloperName"] for g in sf.query_all(
            "SELECT DeveloperName FROM Group WHERE Type = 'Queue'")["records"]),
    }


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_faults_and_rejections_lose_nothing_and_duplicate_nothing(make_dest, stage, crosswalk, sf_admin, sf_factory,
                                                                  bulk_threshold):
    dest = make_dest(bulk_threshold=bulk_threshold, retry_attempts=10)
    dest.prepare({})
    chunks = transform_all(dest, small_dataset(stage, tickets=40), chunk_rows=25)
    sf_admin.knobs(faults=FAULTS, validation_rules=RULES)
    # a connection reset on an insert fails its chunk (never re-sent blindly); the chunk is run again
    results = load_all(dest, chunks, crosswalk, MIG, "run-1", chunk_attempts=5)
    outcomes = [o for r in results for o in r.outcomes]
    # every row of every phase has exactly one outcome
    rows = Counter(r["_source_key"] for phase_chunks in chunks.values() for c in phase_chunks for r in c)
    seen = Counter(o.source_key for o in outcomes if o.dest_object != "Case.ParentId")
    assert seen == Counter({k: v for k, v in rows.items()}) - Counter(
        {r["_source_key"]: 1 for c in chunks.get("case_parents", []) for r in c})
    # every rejection is reported with its Salesforce code and message
    rejected = [o for o in outcomes if o.status == "rejected"]
    assert rejected, "the 10% validation rules must reject something"
    other = [(o.source_key, o.dest_object, o.error_code, o.message) for o in rejected
             if o.error_code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" or not o.message]
    assert not other
    sf_admin.knobs(faults={"rate_429": 0, "rate_503": 0, "rate_reset": 0, "rate_lock_row": 0})
    sig = org_signature(sf_factory())
    # nothing duplicated, and what the org holds is exactly what was reported created
    for name, counter in sig.items():
        assert all(n == 1 for n in counter.values()), f"duplicate {name}"
    created_cases = {o.source_key for o in outcomes if o.dest_object == "Case" and o.status == "created"}
    assert set(sig["cases"]) == created_cases
    created_comments = sum(1 for o in outcomes if o.dest_object == "CaseComment" and o.status == "created")
    assert sum(sig["comments"].values()) == created_comments
    # a re-run with the faults back on changes nothing
    sf_admin.knobs(faults=FAULTS)
    load_all(dest, chunks, crosswalk, MIG, "run-2", chunk_attempts=5)
    sf_admin.knobs(faults={"rate_429": 0, "rate_503": 0, "rate_reset": 0, "rate_lock_row": 0})
    assert org_signature(sf_factory()) == sig


class Interrupted(RuntimeError):
    pass


def _interrupt_after(dest, n_calls: int):
    """Make the destination's API die before its ``n_calls``-th HTTP call (as a killed worker would)."""
    api = dest.api()
    original = api._call
    state = {"n": 0}

    def dying(kind, fn, *args, **kwargs):
        state["n"] += 1
        if state["n"] >= n_calls:
            raise Interrupted(f"killed before call {state['n']}")
        return original(kind, fn, *args, **kwargs)

    api._call = dying


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_a_load_killed_at_random_points_and_rerun_ends_identical_to_a_clean_run(
        make_dest, stage, tmp_path, sf_admin, sf_factory, bulk_threshold):
    from dataset import USERS

    data = small_dataset(stage, tickets=12)
    clean = make_dest(bulk_threshold=bulk_threshold)
    clean.prepare({})
    chunks = transform_all(clean, data, chunk_rows=8)
    prepared_calls = clean.api().calls.total
    load_all(clean, chunks, SqliteCrosswalk(tmp_path / "clean.sqlite"), MIG, "clean")
    expected = org_signature(sf_factory())
    load_calls = clean.api().calls.total - prepared_calls
    rng = random.Random(11)
    for attempt, point in enumerate(sorted(rng.sample(range(2, load_calls), 4))):
        sf_admin.reset(users=USERS)
        cw = SqliteCrosswalk(tmp_path / f"killed-{attempt}.sqlite")
        dest = make_dest(bulk_threshold=bulk_threshold)
        dest.prepare({})
        _interrupt_after(dest, point)
        with pytest.raises(Interrupted):
            load_all(dest, chunks, cw, MIG, "run-1")
        resumed = make_dest(bulk_threshold=bulk_threshold)
        load_all(resumed, chunks, cw, MIG, "run-2")
        assert org_signature(sf_factory()) == expected, f"killed before call {point}"
        baseline = {"Account": 0, "Contact": 0, "Case": 0, "CaseComment": 0, "ContentDocument": 0, "Group": 0}
        rollback_all(resumed, cw, MIG, "rb")
        assert resumed.baseline() == baseline, f"rollback after a kill at call {point}"
