"""One run at a time per migration on the AWS engine: the runs table's conditional writes and deterministic
execution names refuse a second concurrent start, resume or rollback with 409. Only moto: the first step
of each workflow is held (or failed) in-process, so no source or destination is contacted."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hdm_infra.testing.aws import store_secret
from hdm_infra.testing.sam_harness import HANDLERS

pytestmark = pytest.mark.timeout(180)


def _config(stack, migration_id: str) -> dict:
    ref = store_secret(f"hdm/{stack.customer}/{migration_id}-password", "not-used")
    return {
        "migration_id": migration_id,
        "source": {"type": "osticket", "host": "127.0.0.1", "database": "osticket", "user": "reader", "password": ref},
        "destination": {"type": "salesforce", "login_domain": "acme.my", "username": "u@example.com",
                        "password": ref, "security_token": ref},
        "require_approval": True,
    }


def _hold(stack, logical_id: str) -> tuple[threading.Event, threading.Event]:
    """Make the function wait (bounded) until released, then fail; returns (entered, release)."""
    entered, release = threading.Event(), threading.Event()

    def handler(event, context):
        entered.set()
        release.wait(timeout=60)
        raise RuntimeError(f"{logical_id} held by the test")

    HANDLERS[stack.function_names[logical_id]] = handler
    return entered, release


def _executions(stack, logical_id="MigrationStateMachine") -> list[dict]:
    return stack.sfn.list_executions(stateMachineArn=stack.arns[logical_id])["executions"]


def test_a_second_start_while_one_runs_answers_409(sam_stack):
    entered, release = _hold(sam_stack, "DiscoverFunction")
    config = _config(sam_stack, "m-lock-1")
    try:
        status, body = sam_stack.api("POST", "/migrations", config)
        assert status == 202 and body["execution_name"] == "m-lock-1"
        assert entered.wait(60)
        status, body = sam_stack.api("POST", "/migrations", config)
        assert status == 409 and "already running" in body["message"]
        assert [e["name"] for e in _executions(sam_stack)] == ["m-lock-1"]
    finally:
        release.set()


def test_concurrent_first_starts_start_one_execution(sam_stack):
    entered, release = _hold(sam_stack, "DiscoverFunction")
    config = _config(sam_stack, "m-lock-race")
    barrier = threading.Barrier(4)

    def post(_):
        barrier.wait(timeout=30)
        return sam_stack.api("POST", "/migrations", config)

    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(post, range(4)))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [202, 409, 409, 409], answers
        assert [e["name"] for e in _executions(sam_stack)] == ["m-lock-race"]
    finally:
        release.set()


def test_a_start_recorded_but_not_yet_in_step_functions_is_not_started_twice(sam_stack):
    """The window between the conditional write and StartExecution belongs to the first request."""
    from hdm.engines import aws
    from hdm.pipeline.config import MigrationConfig

    config = _config(sam_stack, "m-lock-window")
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-lock-window"
    assert aws.runs().create("m-lock-window", "first", MigrationConfig.model_validate(config).to_json(), arn)
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 409 and "being started by another request" in body["message"]
    assert _executions(sam_stack) == []


def test_two_requests_resuming_a_failed_run_get_one_execution(sam_stack):
    from hdm.engines import aws

    entered, release = _hold(sam_stack, "DiscoverFunction")
    config = _config(sam_stack, "m-lock-resume")
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 202
    release.set()  # the first run fails
    sam_stack.wait(body["execution_arn"], timeout=60)
    # another request has just started the resumed run under the deterministic name, but not yet switched the
    # runs item: Step Functions refuses the same name again
    sam_stack.start("MigrationStateMachine", "m-lock-resume_2",
                    {"migration_id": "m-lock-resume", "run_id": "other", "require_approval": True})
    status, answer = sam_stack.api("POST", "/migrations", config)
    assert status == 409 and "already exists" in answer["message"]
    assert aws.runs().get("m-lock-resume")["status"] != "start_failed"  # the other request's run is left alone
    names = sorted(e["name"] for e in _executions(sam_stack))
    assert names == ["m-lock-resume", "m-lock-resume_2"]


def test_a_second_rollback_while_one_runs_answers_409(sam_stack):
    entered, release = _hold(sam_stack, "DiscoverFunction")
    config = _config(sam_stack, "m-lock-rb")
    status, body = sam_stack.api("POST", "/migrations", config)
    release.set()
    sam_stack.wait(body["execution_arn"], timeout=60)
    rb_entered, rb_release = _hold(sam_stack, "RollbackPlanFunction")
    try:
        status, first = sam_stack.api("POST", "/migrations/m-lock-rb/rollback", {})
        assert status == 202 and first["execution_name"] == "m-lock-rb_rb1"
        assert rb_entered.wait(60)
        status, second = sam_stack.api("POST", "/migrations/m-lock-rb/rollback", {})
        assert status == 409 and "already running" in second["message"]
        with ThreadPoolExecutor(2) as pool:
            raced = list(pool.map(lambda _: sam_stack.api("POST", "/migrations/m-lock-rb/rollback", {})[0], range(2)))
        assert raced == [409, 409]
        assert [e["name"] for e in _executions(sam_stack, "RollbackStateMachine")] == ["m-lock-rb_rb1"]
    finally:
        rb_release.set()
