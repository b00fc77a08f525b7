"""On the AWS engine, a spent daily allowance (the generic QuotaExhausted) ends the workflow as a resumable stop,
like the local engine: the run's status says stopped (not failed), starting the same migration again resumes it
under a new run, and the chunks finished before the stop are not loaded again (no duplicates either)."""

from __future__ import annotations

import threading

import pytest
from hdm_infra.testing.aws import migration_config, store_secret
from hdm_infra.testing.sam_harness import HANDLERS

pytestmark = pytest.mark.timeout(600)


def test_a_quota_stop_is_resumable_and_finished_chunks_are_not_redone(sam_stack, osticket_db, sfemu):
    db = osticket_db(tickets=4, seed=7)
    config = migration_config("m-aws-quota", db, sfemu.running,
                              lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v),
                              chunk_rows=4, max_workers=2, require_approval=False)
    name = sam_stack.function_names["LoadFunction"]
    real = HANDLERS[name]
    lock, spent = threading.Lock(), []

    def load(event, context):  # the org's allowance runs out as the first chunk of cases arrives
        with lock:
            if event.get("phase") == "cases" and not spent:
                sfemu.admin.knobs(daily_api_max=10)
                sfemu.admin.set_api_usage(10)
                spent.append(event)
        return real(event, context)

    HANDLERS[name] = load
    try:
        status, body = sam_stack.api("POST", "/migrations", config)
        assert status == 202, body
        first_arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-aws-quota"
        done = sam_stack.wait(first_arn, timeout=300)
    finally:
        HANDLERS[name] = real
        sfemu.admin.knobs(daily_api_max=5_000_000)
        sfemu.admin.set_api_usage(0)
    info = sam_stack.api("GET", "/migrations/m-aws-quota")[1]
    assert done["status"] == "FAILED" and spent, info
    assert info["status"] == "stopped", info  # a stop, not a failure
    assert info["failure"]["error"] == "QuotaExhausted" and "REQUEST_LIMIT_EXCEEDED" in info["failure"]["cause"]
    assert sfemu.admin.counts().get("Case", 0) == 0

    from hdm.engines import aws

    stage = aws.stage_for("m-aws-quota")
    first_run = info["run_id"]
    before = {k: stage.get_json(k)["run_id"] for k in stage.list("results/contacts/") + stage.list("results/accounts/")}
    assert before and set(before.values()) == {first_run}

    status, body = sam_stack.api("POST", "/migrations", config)  # the allowance is back: the same start resumes
    assert status == 202 and body["resumed"] is True
    done = sam_stack.wait(body["execution_arn"], timeout=300)
    info = sam_stack.api("GET", "/migrations/m-aws-quota")[1]
    assert done["status"] == "SUCCEEDED", info
    assert info["status"] == "succeeded" and info["run_id"] != first_run
    # the chunks finished before the stop were not loaded again: their results are still the first run's
    after = {k: stage.get_json(k)["run_id"] for k in before}
    assert after == before
    assert {stage.get_json(k)["run_id"] for k in stage.list("results/cases/")} == {info["run_id"]}
    assert sfemu.admin.counts().get("Case", 0) == info["progress"]["phase:cases"]["loaded"] == 4
