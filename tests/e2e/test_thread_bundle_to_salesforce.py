"""The Thread source end to end (issue #15): a generated Thread bundle (hdm's own format) migrates into the
Salesforce emulator on the local engine with every bundle line accounted for: reviews and tickets as Cases, their
responses and messages as comments (internal notes unpublished), the orphan response flagged and never loaded,
the records Salesforce has no home for yet skipped with their reasons."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hdm.engines.local import LocalEngine
from hdm.pipeline.config import MigrationConfig
from hdm.sources.export.writer import zip_bundle
from hdm_infra.rehearsal import DEFAULT_OWNER, config_document, destination_users, file_secrets, prepare_org
from hdm_infra.thread_bundle import write_bundle

pytestmark = pytest.mark.timeout(300)
OWNER = {"default_owner_email": DEFAULT_OWNER["Email"], "unmatched_agent_policy": "default_owner"}
NO_DB = SimpleNamespace(host="127.0.0.1", port=3306, database="none", user="none", password="none", prefix="ost_",
                        files_dir=None)


def test_a_thread_bundle_migrates_with_every_line_accounted_for(sfemu, tmp_path):
    tickets, reviews = 8, 5
    manifest = write_bundle(tmp_path / "bundle", tickets=tickets, reviews=reviews, agents=3, customers=5)
    lines = {f["object_type"]: f["lines"] for f in manifest["files"]}
    prepare_org(sfemu.running, destination_users([f"agent{i}@agents.example.test" for i in (1, 2, 3)]))
    doc = config_document("m-thread", NO_DB, sfemu.running, file_secrets(tmp_path / "secrets"), OWNER,
                          require_approval=False)
    doc["source"] = {"type": "thread", "path": str(zip_bundle(tmp_path / "bundle", tmp_path / "bundle.zip"))}
    engine = LocalEngine(MigrationConfig.model_validate(doc), workdir=tmp_path / "local", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert report["ok"], report.get("attention")
    for phase in report["phases"]:
        assert sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped")) == \
            phase["source"], phase
        assert phase["unexplained_count"] == 0, phase
    per_type = report["source"]["per_type"]
    assert per_type["ticket"]["extracted"] == lines["ticket"] + lines["review"]
    assert per_type["message"]["extracted"] == lines["message"] + lines["review_response"] + reviews  # + bodies
    assert per_type["attachment"]["extracted"] == lines["attachment"]
    phases = {p["phase"]: p for p in report["phases"]}
    assert phases["users"]["matched"] == 2 and phases["users"]["held"] == 1  # the agent who left: held, reported
    assert phases["queues"]["loaded"] == 2  # Thread teams -> Queues (with their matched agents as members)
    skipped_types = {s["object_type"] for s in report["source"]["skip_reasons"]}
    assert "satisfaction_rating" in skipped_types  # no home in this pair yet: skipped with a reason, counted

    sf = sfemu.connect()
    numbers = {r["hdm_Ticket_Number__c"] for r in sf.query_all("SELECT hdm_Ticket_Number__c FROM Case")["records"]}
    assert {f"review-{r}" for r in range(1, reviews + 1)} <= numbers and len(numbers) == tickets + reviews
    tiers = {r["hdm_Ticket_Number__c"]: r["hdm_cf_contract_tier__c"] for r in sf.query_all(
        "SELECT hdm_Ticket_Number__c, hdm_cf_contract_tier__c FROM Case")["records"]}
    assert tiers["th-7-1"] == "silver"  # a custom property value in its Case custom field
    comments = next(p for p in report["phases"] if p["phase"] == "comments")
    orphan = [e for e in engine.crosswalk.iter_migration("m-thread", phase="comments")
              if e.source_key.split("#")[0] == "message:response-orphan-0"]
    assert orphan and all(not e.dest_id for e in orphan)  # flagged, never loaded as an orphan
    assert comments["skipped"] >= 1
    internal = sf.query_all("SELECT Id FROM CaseComment WHERE IsPublished = true AND CommentBody LIKE "
                            "'%Internal: customer on legacy contract%'")["totalSize"]
    assert internal == 0
    assert sfemu.admin.counts().get("ContentVersion") == lines["attachment"]


def test_a_staged_thread_bundle_migrates_on_the_aws_engine(sfemu, sam_stack, tmp_path):
    """The committed state machine on moto, the bundle staged first with `hdm stage-input`."""
    import json

    from click.testing import CliRunner
    from hdm.cli import main
    from hdm.engines import aws
    from hdm_infra.testing.aws import store_secret

    manifest = write_bundle(tmp_path / "bundle", tickets=4, reviews=3, agents=2, customers=3)
    lines = {f["object_type"]: f["lines"] for f in manifest["files"]}
    prepare_org(sfemu.running, destination_users([f"agent{i}@agents.example.test" for i in (1, 2)]))
    mid = "m-thread-aws"
    doc = config_document(mid, NO_DB, sfemu.running, lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v),
                          OWNER, require_approval=False)
    doc["source"] = {"type": "thread", "staged": "inputs/bundle-0000000000000000/"}
    (tmp_path / "aws.json").write_text(json.dumps(doc))
    staged = CliRunner().invoke(main, ["stage-input", "--config", str(tmp_path / "aws.json"), "--engine", "aws",
                                       "--stage-bucket", sam_stack.env["HDM_STAGE_BUCKET"], str(tmp_path / "bundle")])
    assert staged.exit_code == 0, staged.output
    doc["source"] = {"type": "thread", "staged": staged.output.split(" under ", 1)[1].split()[0]}
    status, body = sam_stack.api("POST", "/migrations", doc)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:{mid}"
    done = sam_stack.wait(arn, timeout=300)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", f"/migrations/{mid}")[1]
    report = aws.stage_for(mid).get_json("reports/reconciliation.json")
    assert report["ok"], report.get("attention")
    for phase in report["phases"]:
        assert phase["unexplained_count"] == 0, phase
    assert report["source"]["per_type"]["ticket"]["extracted"] == lines["ticket"] + lines["review"]
    assert sfemu.admin.counts().get("ContentVersion") == lines["attachment"]
