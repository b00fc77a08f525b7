"""A whole Kayako → Salesforce migration on the local engine: the Kayako emulator → the Salesforce emulator,
real clients. Every extracted record is accounted for (loaded, or skipped with a reason: Knowledge, Topics,
tags and Entitlements are loaded by later work), custom fields arrive by their Kayako key, notes stay
unpublished."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hdm.engines.local import LocalEngine
from hdm.pipeline.config import MigrationConfig
from hdm_infra.rehearsal import DEFAULT_OWNER, SourceDb, config_document, file_secrets, prepare_org
from hdm_infra.testing.kayakoemu import kayakoemu, kayakoemu_seeded, kayakoemu_server  # noqa: F401


@pytest.fixture
def kayako_rehearsal(kayakoemu_seeded, sfemu, tmp_path):  # noqa: F811 - the fixture imported above
    prepare_org(sfemu.running, [DEFAULT_OWNER])
    secret = file_secrets(tmp_path / "secrets")
    api = urlsplit(kayakoemu_seeded.running.api_url)
    creds = kayakoemu_seeded.running.credentials
    placeholder = SourceDb("127.0.0.1", 3306, "unused", "unused", "unused", "")  # the source is replaced below
    doc = config_document("e2e-kayako", placeholder, sfemu.running, secret,
                          {"default_owner_email": DEFAULT_OWNER["Email"], "unmatched_agent_policy": "default_owner"},
                          require_approval=True)
    doc["source"] = {"type": "kayako", "host": api.hostname, "port": api.port,
                     "email": secret("kayako-email", creds["email"]),
                     "password": secret("kayako-password", creds["password"]),
                     "ca_bundle": str(kayakoemu_seeded.running.cert_path), "page_size": 50}
    return MigrationConfig.model_validate(doc), kayakoemu_seeded, sfemu


def test_a_kayako_desk_migrates_with_every_record_accounted_for(kayako_rehearsal, tmp_path):
    cfg, k, sfemu = kayako_rehearsal
    engine = LocalEngine(cfg, workdir=tmp_path / "work", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    for phase in report["phases"]:
        accounted = sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped"))
        assert accounted == phase["source"], phase
        assert phase["unexplained_count"] == 0
    counts = k.admin.counts()
    per_type = report["source"]["per_type"]
    assert per_type["ticket"]["extracted"] == counts["case"]
    assert per_type["message"]["extracted"] == counts["post"]
    assert per_type["organization"]["extracted"] == counts["organization"]
    assert per_type["attachment"]["extracted"] == counts["attachment"] + counts["media"]  # files + inline images
    files = next(p for p in report["phases"] if p["phase"] == "files")
    article_files = len([1 for key in engine.stage.list("extract/attachment/")
                         for row in engine.stage.read_records(key) if row["ticket"] is None])
    assert article_files and files["loaded"] == per_type["attachment"]["extracted"]  # case and article files
    assert files["held"] == 0  # article files go onto their Knowledge article version
    for phase_name, t in (("knowledge", "kb_article"), ("topics", "kb_category")):  # articles, categories as Topics
        phase = next(p for p in report["phases"] if p["phase"] == phase_name)
        assert per_type[t]["extracted"] and phase["loaded"] == per_type[t]["extracted"], (t, phase)
    for t in ("note", "sla_policy", "automation_rule"):
        assert per_type[t]["extracted"] and per_type[t]["skipped"] == per_type[t]["extracted"], t  # reported
    events = next(p for p in report["phases"] if p["phase"] == "case_events")
    assert events["loaded"] == counts["case"]  # each case's "created" event, with its original time
    cases = next(p for p in report["phases"] if p["phase"] == "cases")
    assert cases["rejected"] == 0 and cases["loaded"] == counts["case"]
    sf = sfemu.connect()
    rows = sf.query_all("SELECT Id, Subject, conversation_channel__c, case_type__c, case_sla_plan__c, "
                        "hdm_cf_product_area__c, hdm_Tags__c FROM Case")["records"]
    tagged = {r["hdm_Tags__c"] for r in rows} - {None}  # the mapping pair's ticket_tags policy: a multi-select
    assert tagged and all(1 <= len(t.split(";")) <= 100 for t in tagged)
    assert {r["case_sla_plan__c"] for r in rows} - {None} == {"Standard"}  # the SLA by its name
    assert len(rows) == counts["case"]
    assert {r["conversation_channel__c"] for r in rows} >= {"email", "chat"}
    types = {r["case_type__c"] for r in rows} - {None}  # cases without a type stay empty
    assert types and types <= {"Question", "Task", "Problem", "Incident"}  # names, never keys
    assert any("\\" in (r["hdm_cf_product_area__c"] or "") for r in rows)
    internal = {f"message:{row['provenance']['id']}" for key in engine.stage.list("extract/message/")
                for row in engine.stage.read_records(key) if row["visibility"] == "internal"}
    loaded = [e for e in engine.crosswalk.iter_migration("e2e-kayako", phase="comments") if e.dest_id]
    note_ids = [e.dest_id for e in loaded if e.source_key.split("#")[0] in internal]
    assert internal and note_ids
    published = sf.query_all("SELECT Id FROM CaseComment WHERE IsPublished = true AND Id IN ('"
                             + "','".join(note_ids[:200]) + "')")["totalSize"]
    assert published == 0
