"""A generated Kustomer org → the Salesforce emulator on the local engine (kustomer-salesforce pair): companies,
customers, conversations, messages and notes (CaseComments, notes unpublished) and files, every record accounted
for. Leads, EmailMessage and custom objects are the Salesforce side's next wave (reported as skipped here)."""

from __future__ import annotations

from hdm.engines.local import LocalEngine
from hdm.pipeline.config import MigrationConfig
from hdm_infra.rehearsal import DEFAULT_OWNER, file_secrets, prepare_org
from hdm_infra.sfemu.client import login_domain
from hdm_infra.testing.kustomeremu import kustomeremu_server, read_all, seed_org  # noqa: F401


def test_a_kustomer_org_migrates_into_salesforce_with_every_record_accounted_for(kustomeremu_server, sfemu,  # noqa: F811
                                                                                  tmp_path):
    org, seeded = seed_org(kustomeremu_server, 8, seed=4)
    org.admin.replace_knobs({"rate_limit_per_minute": 1_000_000, "search_rate_limit_per_minute": 1_000_000})
    users = read_all(org.session(), org.api_base, "/users")
    agents = [u["attributes"]["email"] for u in users if u["attributes"].get("userType") != "machine"]
    prepare_org(sfemu.running, [DEFAULT_OWNER] + [
        {"Username": f"sf.{e}", "Email": e, "FirstName": e.split(".")[0].title(), "LastName": "Agent"}
        for e in agents])
    secret = file_secrets(tmp_path / "secrets")
    host, port = org.api_base.removeprefix("https://").removesuffix("/v1").split(":")
    creds = sfemu.running.credentials
    cfg = MigrationConfig.model_validate({
        "migration_id": "e2e-kustomer", "require_approval": True, "chunk_rows": 10,
        "source": {"type": "kustomer", "host": host, "port": int(port),
                   "api_key": secret("kustomer-key", org.running.api_key), "ca_bundle": str(org.running.cert_path),
                   "rate_limit_per_minute": 100_000, "search_rate_limit_per_minute": 100_000},
        "destination": {"type": "salesforce", "login_domain": login_domain(sfemu.running),
                        "username": creds["username"], "password": secret("sf-password", creds["password"]),
                        "security_token": secret("sf-token", creds["security_token"]),
                        "ca_bundle": str(sfemu.running.cert_path), "default_owner_email": DEFAULT_OWNER["Email"],
                        "unmatched_agent_policy": "default_owner"},
    })
    engine = LocalEngine(cfg, workdir=tmp_path / "work", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert report["ok"]
    for phase in report["phases"]:
        accounted = sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped"))
        assert accounted == phase["source"], phase
        assert phase["unexplained_count"] == 0
    counts = org.admin.counts()["records"]
    per_type = report["source"]["per_type"]
    assert per_type["contact"]["extracted"] == counts["customer"]
    assert per_type["organization"]["extracted"] == counts["company"]
    assert per_type["ticket"]["extracted"] == counts["conversation"]
    assert per_type["message"]["extracted"] + per_type["note"]["extracted"] == counts["message"] + counts["note"]
    assert per_type["attachment"]["extracted"] == counts["attachment"]
    sf = sfemu.connect()
    assert sf.query("SELECT COUNT() FROM Case")["totalSize"] == counts["conversation"]
    assert sf.query("SELECT COUNT() FROM CaseComment WHERE IsPublished = false")["totalSize"] == \
        counts["note"] - per_type["note"]["extracted"]  # notes outside a conversation are Notes, not CaseComments
    phases = {p["phase"]: p for p in report["phases"]}
    assert phases["users"]["matched"] == len(agents) and phases["users"]["held"] == 1  # the machine user
    assert phases["accounts"]["loaded"] + phases["accounts"]["merged"] == counts["company"]
    assert phases["files"]["loaded"] == counts["attachment"]
    cases = next(p for p in report["phases"] if p["phase"] == "cases")
    assert cases["rejected"] == 0
