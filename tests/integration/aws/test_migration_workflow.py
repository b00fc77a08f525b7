"""The committed migration state machine, executed by moto, with the real handlers in-process, over a
generated osTicket database (MariaDB) and the Salesforce emulator (HTTPS on 127.0.0.1)."""

from __future__ import annotations

import pytest
from hdm_infra.testing.aws import migration_config, store_secret

pytestmark = pytest.mark.timeout(600)


def _aws_secret(stack):
    return lambda name, value: store_secret(f"hdm/{stack.customer}/{name}", value)


@pytest.fixture
def small_db(osticket_db):
    return osticket_db(tickets=12, seed=11)


def _start(stack, db, sfemu, migration_id="m-aws-1", **options):
    config = migration_config(migration_id, db, sfemu.running, _aws_secret(stack), chunk_rows=5, max_workers=2,
                              **options)
    status, body = stack.api("POST", "/migrations", config)
    assert status == 202, body
    return config, f"{stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:{migration_id}"


def _waiting_for_approval(stack, migration_id):
    def check(_desc):
        return stack.api("GET", f"/migrations/{migration_id}")[1]["status"] == "awaiting_approval"
    return check


def test_a_migration_runs_end_to_end_on_moto_after_approval(sam_stack, small_db, sfemu):
    stack = sam_stack
    _config, execution_arn = _start(stack, small_db, sfemu)

    paused = stack.wait(execution_arn, timeout=300, until=_waiting_for_approval(stack, "m-aws-1"))
    assert paused["status"] == "RUNNING"
    # nothing reached the destination before approval
    assert not _destination_writers_called(stack)
    assert sfemu.admin.counts().get("Case", 0) == 0

    status, body = stack.api("POST", "/migrations/m-aws-1/approve", {"approved": True})
    assert status == 200 and body["approved"] is True
    assert body["mapping_hash"]  # the approval is bound to the mapping that was parked for review (issue 16)
    done = stack.wait(execution_arn, timeout=300)
    assert done["status"] == "SUCCEEDED", stack.api("GET", "/migrations/m-aws-1")[1]

    status, info = stack.api("GET", "/migrations/m-aws-1")
    assert status == 200 and info["status"] == "succeeded" and info["execution"]["status"] == "SUCCEEDED"
    assert info["progress"]["plan_load"]["mapping_hash"] == body["mapping_hash"]
    phases = [k for k in info["progress"] if k.startswith("phase:")]
    assert phases and all(info["progress"][p]["ok"] for p in phases)
    assert {m["label"] for m in info["map_runs"]} >= {"Extract", "Transform", "Load"}
    assert all(m["failed"] == 0 for m in info["map_runs"])
    cases = info["progress"].get("phase:cases")
    assert cases and cases["source"] > 0 and cases["unexplained_count"] == 0
    assert sfemu.admin.counts().get("Case", 0) == cases["loaded"] + cases.get("matched", 0)

    # a second approval is a conflict, not a second resume
    assert stack.api("POST", "/migrations/m-aws-1/approve", {"approved": True})[0] == 409


def test_starting_the_same_migration_twice_starts_one_execution(sam_stack, small_db, sfemu):
    config, execution_arn = _start(sam_stack, small_db, sfemu, migration_id="m-aws-twice")
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 409 and "already running" in body["message"]  # one run at a time per migration
    changed = {**config, "chunk_rows": 7}
    assert sam_stack.api("POST", "/migrations", changed)[0] == 409
    executions = sam_stack.sfn.list_executions(stateMachineArn=sam_stack.arns["MigrationStateMachine"])["executions"]
    assert [e["name"] for e in executions] == ["m-aws-twice"]
    sam_stack.wait(execution_arn, timeout=300, until=_waiting_for_approval(sam_stack, "m-aws-twice"))
    assert sam_stack.api("POST", "/migrations/m-aws-twice/approve", {"approved": False})[0] == 200
    assert sam_stack.wait(execution_arn, timeout=120)["status"] == "FAILED"


def test_a_rejected_mapping_loads_nothing_and_records_why(sam_stack, small_db, sfemu):
    _config, execution_arn = _start(sam_stack, small_db, sfemu, migration_id="m-aws-reject")
    sam_stack.wait(execution_arn, timeout=300, until=_waiting_for_approval(sam_stack, "m-aws-reject"))
    assert sam_stack.api("POST", "/migrations/m-aws-reject/rollback", {})[0] == 409  # still running
    decision = {"approved": False, "reason": "fix owners"}
    assert sam_stack.api("POST", "/migrations/m-aws-reject/approve", decision)[0] == 200
    done = sam_stack.wait(execution_arn, timeout=120)
    assert done["status"] == "FAILED"
    info = sam_stack.api("GET", "/migrations/m-aws-reject")[1]
    assert info["status"] == "migration_failed" and info["failure"]["error"] == "MigrationRejected"
    assert not _destination_writers_called(sam_stack)
    assert sfemu.admin.counts().get("Case", 0) == 0


def test_bad_requests_get_clear_4xx_answers(sam_stack, small_db, sfemu):
    assert sam_stack.api("GET", "/migrations/nope")[0] == 404
    assert sam_stack.api("POST", "/migrations/nope/approve", {"approved": True})[0] == 404
    assert sam_stack.api("POST", "/migrations", {"migration_id": "x"})[0] == 422
    literal = migration_config("m-aws-literal", small_db, sfemu.running, lambda n, v: "env:HDM_TEST_SECRET")
    status, body = sam_stack.api("POST", "/migrations", literal)
    assert status == 422 and "Secrets Manager ARN" in body["message"]
    outside = migration_config("m-aws-outside", small_db, sfemu.running,
                               lambda n, v: store_secret(f"other/{n}", v))
    assert sam_stack.api("POST", "/migrations", outside)[0] == 422


def _invocations(stack):
    from hdm_infra.testing.sam_harness import INVOCATIONS

    names = set(stack.function_names.values())
    return [(n, p) for n, p in INVOCATIONS if n in names]


def _destination_writers_called(stack):
    writers = {stack.function_names["LoadFunction"], stack.function_names["PrepareFunction"]}
    return [n for n, _ in _invocations(stack) if n in writers]
