"""Rollback per migration: it proves every record this migration created is gone (by id and by legacy id), works
after other migrations into the same org and from a fresh state folder, and says when there is nothing to roll
back (emulator over HTTPS, real simple-salesforce)."""

from __future__ import annotations

from collections import Counter

from dataset import load_all, rollback_all, small_dataset, transform_all
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.pipeline import steps
from hdm.stage.local import LocalStage


def legacy_namespaces(sf) -> Counter:
    out: Counter = Counter()
    for obj in ("Account", "Contact", "Case", "ContentVersion"):
        for r in sf.query_all(f"SELECT hdm_Legacy_Id__c FROM {obj}")["records"]:
            out[(obj, (r["hdm_Legacy_Id__c"] or "").split("/", 1)[0])] += 1
    return out


def ctx(migration_id, dest, crosswalk, stage):
    return steps.Context(migration_id, "rb", None, stage, crosswalk, source=lambda: None, destination=lambda: dest)


def migrate(make_dest, data, tmp_path, mig):
    dest = make_dest(legacy_namespace=mig)
    dest.prepare({})
    cw = SqliteCrosswalk(tmp_path / f"{mig}.sqlite")
    load_all(dest, transform_all(dest, data), cw, mig, "run-1")
    return dest, cw


def test_rolling_back_the_second_migration_leaves_the_first_and_proves_its_own_records_gone(
        make_dest, stage, sf_admin, sf_factory, tmp_path):
    data = small_dataset(stage)
    empty = make_dest().baseline()
    a, _ = migrate(make_dest, data, tmp_path, "mig-first")
    only_a = sf_admin.counts()
    a_ids = {k: v for k, v in legacy_namespaces(sf_factory()).items()}
    b, cw_b = migrate(make_dest, data, tmp_path, "mig-second")
    b_stage = LocalStage(tmp_path / "b-stage")
    b_stage.put_json("reports/baseline.json", empty)  # as if b's first run had been the org's first migration

    phases = [{"phase": "all", "rolled_back": rollback_all(b, cw_b, "mig-second", "rb")}]
    result = steps.rollback_verdict(ctx("mig-second", b, cw_b, b_stage), phases)

    assert result["restored"] is True and result["message"].startswith("restored:"), result
    assert result["proof"]["remaining"] == 0 and result["proof"]["checked_by_id"] > 0
    assert result["after"] != result["baseline"]  # whole-org counts differ (the first migration is there) ...
    assert sf_admin.counts() == only_a  # ... and the first migration is intact
    assert legacy_namespaces(sf_factory()) == a_ids


def test_a_rollback_from_a_fresh_state_folder_finds_this_migrations_records_by_legacy_id(
        make_dest, stage, sf_admin, sf_factory, tmp_path):
    data = small_dataset(stage)
    migrate(make_dest, data, tmp_path, "mig-other")
    other = sf_admin.counts()
    migrate(make_dest, data, tmp_path, "mig-lost")
    assert sf_admin.counts()["Case"] == 2 * other["Case"]

    # the state folder is gone: an empty crosswalk and stage, the same migration id
    dest = make_dest(legacy_namespace="mig-lost")
    fresh_cw = SqliteCrosswalk(tmp_path / "fresh.sqlite")
    fresh_stage = LocalStage(tmp_path / "fresh-stage")
    result = steps.rollback_verdict(ctx("mig-lost", dest, fresh_cw, fresh_stage), [])

    assert result["restored"] is True and result["swept"]["Case"] == other["Case"], result
    assert result["swept"]["ContentDocument"] > 0 and result["swept"]["Group"] > 0
    assert sf_admin.counts() == other  # comments went with their Cases; the other migration untouched
    assert {ns for (_, ns) in legacy_namespaces(sf_factory())} == {"mig-other"}

    again = steps.rollback_verdict(ctx("mig-lost", dest, fresh_cw, fresh_stage), [])
    assert again["nothing_to_roll_back"] is True and again["message"].startswith("nothing to roll back")


def test_nothing_to_roll_back_is_said_plainly(make_dest, stage, sf_admin, tmp_path):
    data = small_dataset(stage)
    migrate(make_dest, data, tmp_path, "mig-loaded")
    before = sf_admin.counts()
    dest = make_dest(legacy_namespace="mig-never")
    result = steps.rollback_verdict(ctx("mig-never", dest, SqliteCrosswalk(tmp_path / "n.sqlite"),
                                        LocalStage(tmp_path / "n-stage")), [])
    assert result["nothing_to_roll_back"] is True and result["restored"] is True
    assert result["message"] == ("nothing to roll back: this migration has created no record in the destination "
                                 "(none in the crosswalk, none carrying its legacy IDs)")
    assert sf_admin.counts() == before


def test_a_record_left_behind_is_named(make_dest, stage, sf_admin, sf_factory, tmp_path):
    data = small_dataset(stage)
    dest, cw = migrate(make_dest, data, tmp_path, "mig-stuck")
    # nothing deleted: the proof must find the records by id and by legacy id
    result = steps.rollback_verdict(ctx("mig-stuck", dest, cw, LocalStage(tmp_path / "s")), [])
    assert result["restored"] is True  # the sweep deleted them by legacy id
    cases = [e for e in cw.iter_migration("mig-stuck", phase="cases") if e.dest_object == "Case" and e.dest_id]
    proof = dest.rollback_proof(cases)
    assert proof["remaining"] == 0 and proof["checked_by_id"] == len(cases)
    # a Case created by this migration that is still there is named in the proof
    migrate(make_dest, data, tmp_path, "mig-stuck2")
    cw2 = SqliteCrosswalk(tmp_path / "mig-stuck2.sqlite")
    d2 = make_dest(legacy_namespace="mig-stuck2")
    proof = d2.rollback_proof(list(cw2.iter_migration("mig-stuck2")))
    assert proof["remaining_by_id"]["Case"] == len(data["ticket"]) and proof["remaining_by_legacy_id"]["Case"]
