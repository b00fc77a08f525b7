"""Starting a failed migration again resumes it under a new run: nothing is duplicated, and a mapping that
was approved is not asked for again (one that was rejected is)."""

from __future__ import annotations

import pytest
from hdm_infra.testing.aws import migration_config, store_secret

pytestmark = pytest.mark.timeout(600)


def _config(stack, db, sfemu, migration_id, **options):
    return migration_config(migration_id, db, sfemu.running,
                            lambda n, v: store_secret(f"hdm/{stack.customer}/{n}", v), chunk_rows=5, **options)


def _current_execution(stack, migration_id):
    return stack.api("GET", f"/migrations/{migration_id}")[1]


def test_a_failed_run_resumes_without_duplicates_or_a_second_approval(sam_stack, osticket_db, sfemu):
    db = osticket_db(tickets=12, seed=11)
    config = _config(sam_stack, db, sfemu, "m-resume")
    failed = sam_stack.inject_failure("LoadFunction", lambda e: e.get("phase") == "comments", times=1)
    assert sam_stack.api("POST", "/migrations", config)[0] == 202
    first_arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-resume"
    sam_stack.wait(first_arn, timeout=300,
                   until=lambda _d: _current_execution(sam_stack, "m-resume")["status"] == "awaiting_approval")
    assert sam_stack.api("POST", "/migrations/m-resume/approve", {"approved": True})[0] == 200
    assert sam_stack.wait(first_arn, timeout=300)["status"] == "FAILED" and len(failed) == 1
    cases_after_failure = sfemu.admin.counts().get("Case", 0)
    assert cases_after_failure > 0  # the phases before the failed one were loaded

    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 202 and body["resumed"] is True
    second_arn = body["execution_arn"]
    assert second_arn == f"{first_arn}_2"  # deterministic: a second resuming request would get the same name
    assert _current_execution(sam_stack, "m-resume")["execution"]["status"] in ("RUNNING", "SUCCEEDED")
    done = sam_stack.wait(second_arn, timeout=300)
    assert done["status"] == "SUCCEEDED", _current_execution(sam_stack, "m-resume")
    info = _current_execution(sam_stack, "m-resume")
    assert info["status"] == "succeeded" and info["run_id"] == body["run_id"]
    # no second approval was needed, and loading the same cases again created none twice
    assert sfemu.admin.counts().get("Case", 0) == cases_after_failure
    cases = info["progress"]["phase:cases"]
    assert cases["loaded"] + cases.get("matched", 0) == cases_after_failure
    assert info["progress"]["phase:comments"]["ok"] is True


def test_a_rejected_mapping_is_asked_for_again_when_the_run_is_resumed(sam_stack, osticket_db, sfemu):
    db = osticket_db(tickets=6, seed=3)
    config = _config(sam_stack, db, sfemu, "m-reask")
    assert sam_stack.api("POST", "/migrations", config)[0] == 202
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-reask"

    def waiting(_d):
        return _current_execution(sam_stack, "m-reask")["status"] == "awaiting_approval"

    sam_stack.wait(arn, timeout=300, until=waiting)
    assert sam_stack.api("POST", "/migrations/m-reask/approve", {"approved": False})[0] == 200
    assert sam_stack.wait(arn, timeout=120)["status"] == "FAILED"
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 202 and body["resumed"] is True
    new_arn = body["execution_arn"]
    paused = sam_stack.wait(new_arn, timeout=300, until=waiting)
    assert paused["status"] == "RUNNING"
    assert sfemu.admin.counts().get("Case", 0) == 0


def test_a_start_that_never_reached_step_functions_is_started_by_the_next_request(sam_stack, osticket_db, sfemu):
    from hdm.engines import aws
    from hdm.pipeline.config import MigrationConfig

    db = osticket_db(tickets=6, seed=3)
    config = _config(sam_stack, db, sfemu, "m-lost", require_approval=True)
    normalized = MigrationConfig.model_validate(config).to_json()
    lost_arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-lost"
    assert aws.runs().create("m-lost", "lostrun", normalized, lost_arn)  # recorded, but StartExecution failed
    # just recorded: another request may be starting it this very moment; one run at a time
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 409 and "being started by another request" in body["message"]
    sam_stack.ddb.update_item(TableName=sam_stack.refs["RunsTable"], Key={"migration_id": {"S": "m-lost"}},
                              UpdateExpression="SET updated_at = :old", ExpressionAttributeValues={":old": {"N": "1"}})
    status, body = sam_stack.api("POST", "/migrations", config)  # long ago: that request is gone
    assert status == 202 and body["resumed"] is True
    arn = body["execution_arn"]
    paused = sam_stack.wait(arn, timeout=300,
                            until=lambda _d: _current_execution(sam_stack, "m-lost")["status"] == "awaiting_approval")
    assert paused["status"] == "RUNNING"
