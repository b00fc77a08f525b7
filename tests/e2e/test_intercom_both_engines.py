"""osTicket → Intercom on both engines: the committed state machine on moto and the local engine, over the same
generated osTicket database and the same Intercom workspace (the emulator), leave the same workspace content and
the same reconciliation figures."""

from __future__ import annotations

import json

import pytest
from hdm.engines.local import LocalEngine
from hdm_infra.intercom_rehearsal import intercom_config, workspace_for
from hdm_infra.testing.aws import store_secret

pytestmark = pytest.mark.timeout(900)


def content(emu) -> dict:
    """The workspace without the ids Intercom hands out (references replaced by legacy/external ids)."""
    dump = emu.admin.dump()
    contacts = {c["id"]: c.get("external_id") or c.get("email") for c in dump.get("contact", [])}
    companies = {c["id"]: c.get("company_id") for c in dump.get("company", [])}
    tags = {t["id"]: t["name"] for t in dump.get("tag", [])}
    tickets = sorted(json.dumps([
        t["ticket_attributes"], t["created_at"], t["state_id"], [contacts.get(c) for c in t["contact_ids"]],
        companies.get(t.get("company_id")), sorted(tags.get(x, x) for x in t.get("tags", {})),
        t.get("admin_assignee_id"), t.get("team_assignee_id"),
        [(p["part_type"], p["author"]["type"], p["created_at"], p.get("body"), len(p["attachments"]))
         for p in t["parts"]]], sort_keys=True, default=str) for t in dump.get("ticket", []))
    return {"contacts": sorted(map(str, contacts.values())), "companies": sorted(map(str, companies.values())),
            "tickets": tickets}


def figures(report: dict) -> dict:
    timing = ("api_calls", "run_id", "load_seconds", "verify_seconds")
    return {p["phase"]: {k: v for k, v in p.items() if k not in timing} for p in report["phases"]}


def test_the_state_machine_on_moto_and_the_local_engine_leave_the_same_workspace(
        osticket_db, mariadb, intercomemu, sam_stack, tmp_path):
    db = osticket_db(version="1.18", tickets=6, seed=5)
    with mariadb.connect(database=db.database) as conn:
        admins, teams = workspace_for(conn, db.prefix)
    options = {"chunk_rows": 8, "max_workers": 2, "require_approval": False}

    intercomemu.admin.reset(admins=admins, teams=teams)
    local = intercom_config("m-ic-parity", db, intercomemu.running, tmp_path / "secrets", **options)
    outcome = LocalEngine(local, workdir=tmp_path / "local", progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    local_content = content(intercomemu)
    assert local_content["tickets"], "the local run migrated no ticket: nothing to compare"
    local_report = json.loads((tmp_path / "local" / "m-ic-parity" / "stage" / "reports" / "reconciliation.json")
                              .read_text())

    intercomemu.admin.reset(admins=admins, teams=teams)
    cfg = local.to_json()
    cfg["source"]["password"] = store_secret(f"hdm/{sam_stack.customer}/osticket-password", db.password)
    cfg["destination"]["access_token"] = store_secret(f"hdm/{sam_stack.customer}/intercom-token",
                                                      intercomemu.access_token)
    status, body = sam_stack.api("POST", "/migrations", cfg)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-ic-parity"
    done = sam_stack.wait(arn, timeout=600)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", "/migrations/m-ic-parity")[1]
    from hdm.engines import aws

    aws_report = aws.stage_for("m-ic-parity").get_json("reports/reconciliation.json")
    assert content(intercomemu) == local_content
    assert figures(aws_report) == figures(local_report)
    assert local_report["ok"] is True
