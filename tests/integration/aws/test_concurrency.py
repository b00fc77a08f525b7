"""Fan-out stays within the plan's limits: extraction within max_workers, each load phase within the
destination's MaxConcurrency for it (Salesforce allows few concurrent long requests)."""

from __future__ import annotations

import pytest
from hdm_infra.testing.aws import migration_config, store_secret

pytestmark = pytest.mark.timeout(600)


def test_maps_never_exceed_the_planned_concurrency(sam_stack, osticket_db, sfemu):
    db = osticket_db(tickets=12, seed=11)
    extract = sam_stack.track_concurrency("ExtractFunction")
    load = sam_stack.track_concurrency("LoadFunction", key=lambda e: e["phase"])
    config = migration_config("m-conc", db, sfemu.running,
                              lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v),
                              chunk_rows=3, max_workers=3, require_approval=False)
    assert sam_stack.api("POST", "/migrations", config)[0] == 202
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-conc"
    assert sam_stack.wait(arn, timeout=300)["status"] == "SUCCEEDED"

    from hdm.engines import aws

    phases = aws.stage_for("m-conc").get_json("manifests/load-plan.json")
    assert extract["calls"] > 3 and 1 < extract["peak"]["all"] <= 3
    assert load["calls"] == sum(p["chunks"] for p in phases)
    for phase in phases:
        if phase["chunks"]:
            assert 1 <= load["peak"][phase["name"]] <= phase["max_concurrency"], phase["name"]
    assert set(load["peak"]) == {p["name"] for p in phases if p["chunks"]}
    assert load["overlaps"] == 0  # one phase at a time: no chunk of the next phase while one is loading
