"""Two different migrations into one org: legacy IDs, merge keys and Queue names are namespaced by the migration
id, so neither upserts onto, merges into nor rolls back the other's records."""

from __future__ import annotations

from collections import Counter

import pytest
from dataset import load_all, rollback_all, small_dataset, transform_all
from hdm.crosswalk.sqlite import SqliteCrosswalk

OBJECTS = ("Account", "Contact", "Case", "CaseComment", "ContentVersion", "Group")


def legacy_ids(sf) -> Counter:
    """(object, namespace) -> records holding a legacy ID of that namespace."""
    out: Counter = Counter()
    for obj in ("Account", "Contact", "Case", "ContentVersion"):
        for r in sf.query_all(f"SELECT hdm_Legacy_Id__c FROM {obj}")["records"]:
            out[(obj, (r["hdm_Legacy_Id__c"] or "").split("/", 1)[0])] += 1
    return out


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_two_migrations_into_one_org_keep_separate_records_and_roll_back_alone(
        make_dest, stage, sf_admin, sf_factory, tmp_path, bulk_threshold):
    data = small_dataset(stage)  # the same source keys in both migrations ("ticket:1" twice)
    a = make_dest(bulk_threshold=bulk_threshold, legacy_namespace="mig-a")
    a.prepare({})
    cw_a = SqliteCrosswalk(tmp_path / "a.sqlite")
    load_all(a, transform_all(a, data), cw_a, "mig-a", "run-1")
    only_a = sf_admin.counts()
    assert all(only_a.get(o, 0) > 0 for o in OBJECTS)

    b = make_dest(bulk_threshold=bulk_threshold, legacy_namespace="mig-b")
    cw_b = SqliteCrosswalk(tmp_path / "b.sqlite")
    results = load_all(b, transform_all(b, data), cw_b, "mig-b", "run-1")
    both = sf_admin.counts()
    # b created its own records: nothing of a's was upserted onto, merged into or matched
    for o in ("Account", "Contact", "Case", "CaseComment", "ContentVersion"):
        assert both[o] == 2 * only_a[o], o
    outcomes = [o for r in results for o in r.outcomes if o.dest_object in ("Account", "Contact", "Case")]
    assert not [o for o in outcomes if o.status in ("unchanged", "updated")]
    assert both["Group"] > only_a["Group"]  # its own Queues, not a's
    ids = legacy_ids(sf_factory())
    assert {ns for (_, ns) in ids} == {"mig-a", "mig-b"}
    assert all(ids[(obj, "mig-a")] == ids[(obj, "mig-b")] for obj, _ in ids)
    # the crosswalk keeps the plain source key
    assert {e.source_key for e in cw_b.iter_migration("mig-b", phase="cases")} >= {"ticket:1"}

    rollback_all(a, cw_a, "mig-a", "rb")
    after = sf_admin.counts()
    for o in OBJECTS:
        assert after.get(o, 0) == both[o] - only_a[o], f"rolling back mig-a touched mig-b's {o}"
    left = legacy_ids(sf_factory())
    assert {ns for (_, ns) in left} == {"mig-b"} and sum(left.values()) == sum(ids.values()) // 2

    rollback_all(b, cw_b, "mig-b", "rb")
    assert b.baseline() == {"Account": 0, "Contact": 0, "Case": 0, "CaseComment": 0, "ContentDocument": 0, "Group": 0}


def test_a_pending_entry_is_found_at_rollback_by_its_namespaced_legacy_id(make_dest, stage, sf_admin, tmp_path):
    from hdm.crosswalk.base import State

    data = small_dataset(stage)
    dest = make_dest(legacy_namespace="mig-p")
    dest.prepare({})
    cw = SqliteCrosswalk(tmp_path / "p.sqlite")
    load_all(dest, transform_all(dest, data), cw, "mig-p", "run-1")
    # as if every Case write landed but its id never reached the crosswalk
    cases = [e for e in cw.iter_migration("mig-p", phase="cases") if e.dest_object == "Case" and e.dest_id]
    for e in cases:
        e.state, e.dest_id = State.PENDING, None
    cw.put_many(cases)
    rollback_all(dest, cw, "mig-p", "rb")
    assert sf_admin.counts().get("Case", 0) == 0
