"""Parity: the committed state machine on moto and the local engine, over the same source fixture and the
same empty destination, leave the same destination state and the same reconciliation figures; for every row
of the rehearsal matrix (hdm_infra.rehearsal: osTicket on MariaDB x the Salesforce emulator over HTTPS today).

Destination records are compared without their ids (the provider's ``snapshot``: for Salesforce, every
reference to another record is replaced by that record's natural key, its legacy id, username or developer
name), so the two runs compare even though the emulator hands out different ids and the chunks finish in a
different order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hdm.engines.local import LocalEngine
from hdm.pipeline.config import MigrationConfig
from hdm_infra import rehearsal as matrix
from hdm_infra.providers import PytestResources
from hdm_infra.providers.salesforce import destination_state  # noqa: F401 - imported from here by other e2e tests
from hdm_infra.testing.aws import store_secret

pytestmark = pytest.mark.timeout(900)

def reconciliation_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers a migration engineer signs off, without what depends on timing (API calls, run ids, seconds)."""
    timing = ("api_calls", "run_id", "load_seconds", "verify_seconds")
    phases = {p["phase"]: {k: v for k, v in p.items() if k not in timing}
              for p in report["phases"]}
    totals = {k: v for k, v in report["totals"].items() if k != "api_calls"}
    return {"ok": report["ok"], "source": report["source"], "totals": totals, "phases": phases}


@pytest.mark.parametrize("pair", matrix.pairs(), ids="-".join)
def test_the_state_machine_on_moto_and_the_local_engine_leave_the_same_org(
        pair, request, tmp_path_factory, sam_stack, tmp_path, monkeypatch):
    row = matrix.rehearsal(*pair, PytestResources(request, tmp_path_factory), size="parity")
    emu = row.destination
    emu.clear()
    options = {"chunk_rows": 8, "max_workers": 2, "require_approval": False}

    # -- the local engine ------------------------------------------------------------------------
    def env_ref(name: str, value: str) -> str:
        var = "HDM_PARITY_" + name.upper().replace("-", "_")
        monkeypatch.setenv(var, value)
        return f"env:{var}"

    local_config = MigrationConfig.model_validate(
        row.document("m-parity", env_ref, **options))
    outcome = LocalEngine(local_config, workdir=tmp_path / "local", progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    local_state = emu.snapshot()
    local_report = json.loads((tmp_path / "local" / "m-parity" / "stage" / "reports" / "reconciliation.json")
                              .read_text())
    for obj in emu.core_objects:
        assert local_state.get(obj), f"the local run migrated no {obj}: nothing to compare"

    # -- the same migration on the committed state machine (moto) ------------------------------------
    emu.clear()
    aws_config = row.document("m-parity", lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v), **options)
    status, body = sam_stack.api("POST", "/migrations", aws_config)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-parity"
    done = sam_stack.wait(arn, timeout=600)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", "/migrations/m-parity")[1]
    aws_state = emu.snapshot()
    from hdm.engines import aws

    aws_report = aws.stage_for("m-parity").get_json("reports/reconciliation.json")

    # -- identical -------------------------------------------------------------------------------
    assert aws_state.keys() == local_state.keys()
    for obj in local_state:
        assert aws_state[obj] == local_state[obj], f"{obj} differs between the engines"
    aws_figures, local_figures = reconciliation_figures(aws_report), reconciliation_figures(local_report)
    differences = {
        (phase, key): (aws_figures["phases"].get(phase, {}).get(key), figures.get(key))
        for phase, figures in local_figures["phases"].items() for key in figures
        if aws_figures["phases"].get(phase, {}).get(key) != figures.get(key)
    }
    assert not differences, f"phase figures differ (aws, local): {differences}"
    assert aws_figures == local_figures
    assert local_report["ok"] is True
    print("parity compared:", {obj: len(rows) for obj, rows in local_state.items()})
