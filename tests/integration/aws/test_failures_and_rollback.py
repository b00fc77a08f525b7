"""Failure paths and the rollback workflow of the committed state machines on moto."""

from __future__ import annotations

import pytest
from hdm_infra.testing.aws import migration_config, store_secret

pytestmark = pytest.mark.timeout(600)


class TooManyRequestsException(Exception):
    """Named like the throttle the workflow retries."""


@pytest.fixture
def small_db(osticket_db):
    return osticket_db(tickets=12, seed=11)


def _run(stack, db, sfemu, migration_id, approve=True):
    config = migration_config(migration_id, db, sfemu.running,
                              lambda n, v: store_secret(f"hdm/{stack.customer}/{n}", v),
                              chunk_rows=5, max_workers=2, require_approval=False)
    status, body = stack.api("POST", "/migrations", config)
    assert status == 202, body
    arn = f"{stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:{migration_id}"
    return stack.wait(arn, timeout=300)


def _is_case_chunk(event):
    return event.get("phase") == "cases"


def test_a_failing_load_chunk_fails_the_run_with_a_failure_report(sam_stack, small_db, sfemu):
    failed = sam_stack.inject_failure("LoadFunction", _is_case_chunk, times=1)
    done = _run(sam_stack, small_db, sfemu, "m-fail-load")
    assert done["status"] == "FAILED" and len(failed) == 1
    info = sam_stack.api("GET", "/migrations/m-fail-load")[1]
    assert info["status"] == "migration_failed"
    assert info["failure"]["error"] == "PhaseNotReconciled"  # the null child output is caught by reconciliation
    assert "failed chunk" in info["failure"]["cause"]
    load_runs = [m for m in info["map_runs"] if m["label"] == "Load"]
    assert any(m["failed"] >= 1 for m in load_runs)
    from hdm.engines import aws

    report = aws.stage_for("m-fail-load").get_json("reports/failure-migration.json")
    assert report["error"] == "PhaseNotReconciled" and report["run_id"] == info["run_id"]
    # the phases after the failed one never ran
    assert "phase:cases" not in info["progress"] and "report" not in info["progress"]


def test_a_failing_extract_chunk_stops_before_transform(sam_stack, small_db, sfemu):
    failed = sam_stack.inject_failure("ExtractFunction", lambda e: e["item"]["chunk"]["object_type"] == "ticket",
                                      times=1)
    done = _run(sam_stack, small_db, sfemu, "m-fail-extract")
    assert done["status"] == "FAILED" and len(failed) == 1
    info = sam_stack.api("GET", "/migrations/m-fail-extract")[1]
    assert info["failure"]["error"] == "ChunkFailed" and "extract: 1 of" in info["failure"]["cause"]
    assert sfemu.admin.counts().get("Case", 0) == 0


def test_throttled_chunks_are_retried_and_the_run_succeeds(sam_stack, small_db, sfemu):
    failed = sam_stack.inject_failure("TransformFunction", lambda e: True, error=TooManyRequestsException, times=2)
    done = _run(sam_stack, small_db, sfemu, "m-throttled")
    assert done["status"] == "SUCCEEDED" and len(failed) == 2


def test_rollback_deletes_what_the_migration_created_newest_phase_first(sam_stack, small_db, sfemu):
    before = sfemu.admin.counts()
    done = _run(sam_stack, small_db, sfemu, "m-rollback")
    assert done["status"] == "SUCCEEDED"
    assert sfemu.admin.counts().get("Case", 0) > before.get("Case", 0)

    status, body = sam_stack.api("POST", "/migrations/m-rollback/rollback", {})
    assert status == 202, body
    info = sam_stack.api("GET", "/migrations/m-rollback")[1]
    rollback = sam_stack.wait(info["rollback_execution_arn"], timeout=300)
    assert rollback["status"] == "SUCCEEDED"
    info = sam_stack.api("GET", "/migrations/m-rollback")[1]
    assert info["status"] == "rolled_back" and info["progress"]["rollback"]["restored"] is True
    after = sfemu.admin.counts()
    assert {k: after.get(k, 0) for k in ("Account", "Contact", "Case")} == {
        k: before.get(k, 0) for k in ("Account", "Contact", "Case")}

    from hdm.engines import aws

    ctx = aws.context_for({"migration_id": "m-rollback", "run_id": "check"})
    plan = [p["name"] for p in ctx.stage.get_json("manifests/load-plan.json")]
    order = [p["phase"] for p in ctx.stage.get_json("reports/rollback.json")["phases"]]
    assert order == list(reversed(plan))  # newest phase first


def test_rollback_still_restores_the_org_after_the_staged_data_expired(sam_stack, small_db, sfemu):
    before = sfemu.admin.counts()
    assert _run(sam_stack, small_db, sfemu, "m-expired")["status"] == "SUCCEEDED"
    from hdm.engines import aws

    stage = aws.stage_for("m-expired")
    for key in stage.list(""):  # what the bucket's lifecycle rule does after StagedDataRetentionDays
        stage.delete(key)
    assert sam_stack.api("POST", "/migrations/m-expired/rollback", {})[0] == 202
    info = sam_stack.api("GET", "/migrations/m-expired")[1]
    assert sam_stack.wait(info["rollback_execution_arn"], timeout=300)["status"] == "SUCCEEDED"
    assert sam_stack.api("GET", "/migrations/m-expired")[1]["status"] == "rolled_back"
    after = sfemu.admin.counts()
    assert {k: after.get(k, 0) for k in ("Account", "Contact", "Case")} == {
        k: before.get(k, 0) for k in ("Account", "Contact", "Case")}


def test_rolling_back_an_unknown_migration_is_a_404(sam_stack):
    assert sam_stack.api("POST", "/migrations/m-none/rollback", {})[0] == 404
