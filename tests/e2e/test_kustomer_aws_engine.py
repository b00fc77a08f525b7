"""The same Kustomer → Salesforce migration on the committed state machine (moto, the real handlers in-process):
the source is built in the Lambda handlers from a config whose API key is a Secrets Manager ARN, and every record is
accounted for as on the local engine."""

from __future__ import annotations

import pytest
from hdm_infra.rehearsal import DEFAULT_OWNER, prepare_org
from hdm_infra.sfemu.client import login_domain
from hdm_infra.testing.aws import store_secret
from hdm_infra.testing.kustomeremu import kustomeremu_server, read_all, seed_org  # noqa: F401

pytestmark = pytest.mark.timeout(900)


def test_a_kustomer_org_migrates_on_the_state_machine(kustomeremu_server, sfemu, sam_stack):  # noqa: F811
    org, _ = seed_org(kustomeremu_server, 5, seed=6)
    org.admin.replace_knobs({"rate_limit_per_minute": 1_000_000, "search_rate_limit_per_minute": 1_000_000})
    users = read_all(org.session(), org.api_base, "/users")
    agents = [u["attributes"]["email"] for u in users if u["attributes"].get("userType") != "machine"]
    prepare_org(sfemu.running, [DEFAULT_OWNER] + [
        {"Username": f"sf.{e}", "Email": e, "FirstName": "Agent", "LastName": "Agent"} for e in agents])
    host, port = org.api_base.removeprefix("https://").removesuffix("/v1").split(":")
    creds = sfemu.running.credentials
    secret = lambda name, value: store_secret(f"hdm/{sam_stack.customer}/{name}", value)  # noqa: E731
    config = {
        "migration_id": "m-kustomer", "require_approval": False, "chunk_rows": 10, "max_workers": 2,
        "source": {"type": "kustomer", "host": host, "port": int(port),
                   "api_key": secret("kustomer-key", org.running.api_key), "ca_bundle": str(org.running.cert_path),
                   "rate_limit_per_minute": 100_000, "search_rate_limit_per_minute": 100_000},
        "destination": {"type": "salesforce", "login_domain": login_domain(sfemu.running),
                        "username": creds["username"], "password": secret("sf-password", creds["password"]),
                        "security_token": secret("sf-token", creds["security_token"]),
                        "ca_bundle": str(sfemu.running.cert_path), "default_owner_email": DEFAULT_OWNER["Email"],
                        "unmatched_agent_policy": "default_owner"},
    }
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-kustomer"
    done = sam_stack.wait(arn, timeout=600)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", "/migrations/m-kustomer")[1]
    from hdm.engines import aws

    report = aws.stage_for("m-kustomer").get_json("reports/reconciliation.json")
    assert report["ok"]
    for phase in report["phases"]:
        accounted = sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped"))
        assert accounted == phase["source"], phase
    counts = org.admin.counts()["records"]
    per_type = report["source"]["per_type"]
    assert per_type["contact"]["extracted"] == counts["customer"]
    assert per_type["ticket"]["extracted"] == counts["conversation"]
    assert per_type["attachment"]["extracted"] == counts["attachment"]
    assert per_type["message"]["extracted"] + per_type["note"]["extracted"] == counts["message"] + counts["note"]
    assert sfemu.connect().query("SELECT COUNT() FROM Case")["totalSize"] == counts["conversation"]
