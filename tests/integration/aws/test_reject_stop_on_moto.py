"""On the AWS engine too, the reject-threshold stop holds back only the phases that depend on the failing one:
phases that do not depend on it still load, the run ends FAILED (resumable) with the threshold named, and the
final report says exit status 11."""

from __future__ import annotations

import pytest
from hdm_infra.testing.aws import migration_config, store_secret

pytestmark = pytest.mark.timeout(600)


def test_only_dependants_of_a_stopped_phase_are_held_back_on_step_functions(sam_stack, osticket_db, sfemu):
    db = osticket_db(tickets=4, seed=5)
    # every queue (a Group) refused: queues stop; accounts and contacts do not depend on them, cases do
    sfemu.admin.knobs(validation_rules={"Group": {"fraction": 1.0, "message": "No new queues", "fields": []}})
    try:
        config = migration_config("m-aws-stop", db, sfemu.running,
                                  lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v),
                                  chunk_rows=5, max_workers=2, require_approval=False, reject_threshold=0.01)
        status, body = sam_stack.api("POST", "/migrations", config)
        assert status == 202, body
        arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-aws-stop"
        done = sam_stack.wait(arn, timeout=300)
    finally:
        sfemu.admin.knobs(validation_rules={})
    info = sam_stack.api("GET", "/migrations/m-aws-stop")[1]
    assert done["status"] == "FAILED", info  # failed, so the same start resumes it once the cause is fixed
    assert info["status"] == "migration_failed"
    assert info["failure"]["error"] == "RejectThresholdExceeded" and "phase queues" in info["failure"]["cause"]
    progress = info["progress"]
    assert progress["phase:accounts"]["ok"] is True and progress["phase:contacts"]["ok"] is True
    assert progress["phase:accounts"]["loaded"] > 0 and progress["phase:contacts"]["loaded"] > 0
    assert progress["phase:queues"]["ok"] is False and progress["phase:queues"]["rejected"] > 0
    assert progress["phase:cases"]["held_back"]["because"] == ["queues"]
    assert progress["phase:cases"]["ok"] is False and progress["phase:cases"]["loaded"] == 0
    counts = sfemu.admin.counts()
    assert counts.get("Account", 0) > 0 and counts.get("Contact", 0) > 0 and counts.get("Case", 0) == 0
    assert progress["report"]["exit_status"] == 11 and progress["report"]["outcome"] == "failed"
    from hdm.engines import aws

    report = aws.stage_for("m-aws-stop").get_json("reports/reconciliation.json")
    phases = {p["phase"]: p for p in report["phases"]}
    assert phases["cases"]["held_back"]["because"] == ["queues"]
    assert report["stopped"]["phase"] == "queues"
