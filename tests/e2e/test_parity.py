"""Parity: the committed state machine on moto and the local engine, over the same generated osTicket
database (MariaDB) and the same empty Salesforce org (the emulator, over HTTPS), leave the same
destination state and the same reconciliation figures.

Destination records are compared without their ids: every reference to another record is replaced by
that record's natural key (its legacy id, username or developer name), so the two runs compare even
though the emulator hands out different ids and the chunks finish in a different order.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hdm.engines.local import LocalEngine
from hdm.pipeline.config import MigrationConfig
from hdm_infra.testing.aws import migration_config, store_secret

pytestmark = pytest.mark.timeout(900)

OBJECTS = ("User", "Group", "GroupMember", "QueueSobject", "Account", "Contact", "Case", "CaseComment",
           "ContentVersion", "ContentDocumentLink", "CaseContactRole", "hdm_Case_Event__c")
# set by the org at write time, or numbered in write order: they differ between any two runs
VOLATILE = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "LastViewedDate", "LastReferencedDate",
            "LastActivityDate", "CreatedById", "LastModifiedById", "CaseNumber", "IsDeleted", "LastLoginDate",
            "ContentDocumentId", "LatestPublishedVersionId", "PublishStatus", "VersionData", "ClosedDate"}
SF_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
NATURAL_KEYS = ("hdm_Legacy_Id__c", "Username", "DeveloperName", "Checksum", "Title")


def destination_state(sf) -> dict[str, list[str]]:
    """Every record of the migrated objects, ids replaced by natural keys, as sorted JSON lines per object."""
    records: dict[str, list[dict[str, Any]]] = {}
    for obj in OBJECTS:
        try:
            fields = [f["name"] for f in sf.__getattr__(obj).describe()["fields"]
                      if f["type"] not in ("base64", "address", "location")]
        except Exception:  # noqa: BLE001 - an object the emulator does not model is simply not compared
            continue
        rows = sf.query_all(f"SELECT {', '.join(fields)} FROM {obj}")["records"]
        records[obj] = [{k: v for k, v in r.items() if k != "attributes"} for r in rows]
    labels: dict[str, str] = {}
    for obj, rows in records.items():
        for r in rows:
            natural = next((f"{obj}:{r[k]}" for k in NATURAL_KEYS if r.get(k)), None)
            if natural and r.get("Id"):
                labels[r["Id"][:15]] = natural
    state: dict[str, list[str]] = {}
    for obj, rows in records.items():
        lines = []
        for r in rows:
            clean = {}
            for k, v in r.items():
                if k in VOLATILE:
                    continue
                if isinstance(v, str) and SF_ID.match(v) and v[:15] in labels:
                    v = labels[v[:15]]
                elif isinstance(v, str) and SF_ID.match(v) and (k.endswith("Id") or k == "OwnerId"):
                    v = "<unlabelled id>"
                clean[k] = v
            lines.append(json.dumps(clean, sort_keys=True, default=str))
        state[obj] = sorted(lines)
    return state


def reconciliation_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers a migration engineer signs off, without what depends on timing (API calls, run ids, seconds)."""
    timing = ("api_calls", "run_id", "load_seconds", "verify_seconds")
    phases = {p["phase"]: {k: v for k, v in p.items() if k not in timing}
              for p in report["phases"]}
    totals = {k: v for k, v in report["totals"].items() if k != "api_calls"}
    return {"ok": report["ok"], "source": report["source"], "totals": totals, "phases": phases}


def test_the_state_machine_on_moto_and_the_local_engine_leave_the_same_org(
        osticket_db, sfemu, sam_stack, tmp_path, monkeypatch):
    db = osticket_db(tickets=30, seed=23)
    options = {"chunk_rows": 8, "max_workers": 2, "require_approval": False}

    # -- the local engine ------------------------------------------------------------------------
    def env_ref(name: str, value: str) -> str:
        var = "HDM_PARITY_" + name.upper().replace("-", "_")
        monkeypatch.setenv(var, value)
        return f"env:{var}"

    local_config = MigrationConfig.model_validate(
        migration_config("m-parity", db, sfemu.running, env_ref, **options))
    outcome = LocalEngine(local_config, workdir=tmp_path / "local", progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    local_state = destination_state(sfemu.connect())
    local_report = json.loads((tmp_path / "local" / "m-parity" / "stage" / "reports" / "reconciliation.json")
                              .read_text())
    for obj in ("Account", "Contact", "Case", "CaseComment", "hdm_Case_Event__c"):
        assert local_state.get(obj), f"the local run migrated no {obj}: nothing to compare"

    # -- the same migration on the committed state machine (moto) ------------------------------------
    sfemu.admin.reset()
    aws_config = migration_config("m-parity", db, sfemu.running,
                                  lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v), **options)
    status, body = sam_stack.api("POST", "/migrations", aws_config)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-parity"
    done = sam_stack.wait(arn, timeout=600)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", "/migrations/m-parity")[1]
    aws_state = destination_state(sfemu.connect())
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
