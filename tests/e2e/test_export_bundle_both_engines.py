"""The export source end to end (issue #11, Proof): an hdm export bundle migrates into the Salesforce emulator on
BOTH engines -- the local engine reading the bundle from a path, and the committed state machine on moto reading it
from the stage where ``hdm stage-input`` put it -- with every bundle record accounted for, internal notes kept
internal, a re-run creating nothing twice; and an osTicket database exported as a bundle lands exactly as the
database itself does.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from hdm.cli import main
from hdm.engines.local import LocalEngine
from hdm.pipeline.config import MigrationConfig
from hdm.sources.export.writer import zip_bundle
from hdm.sources.osticket import OsTicketSource
from hdm.stage.local import LocalStage
from hdm_infra.export_bundle import export_source, write_sample
from hdm_infra.rehearsal import (
    DEFAULT_OWNER,
    agent_emails,
    config_document,
    destination_users,
    file_secrets,
    prepare_org,
)
from hdm_infra.testing.aws import store_secret
from test_parity import destination_state  # same folder: the parity test's id-free view of the org

pytestmark = pytest.mark.timeout(600)
OWNER = {"default_owner_email": DEFAULT_OWNER["Email"], "unmatched_agent_policy": "default_owner"}


NO_DB = SimpleNamespace(host="127.0.0.1", port=3306, database="none", user="none", password="none", prefix="ost_",
                        files_dir=None)  # the destination half of the rehearsal's config; the source is replaced


def _config(mid, db, emulator, secret_ref, source, **options):
    doc = config_document(mid, db or NO_DB, emulator, secret_ref, OWNER, require_approval=False, **options)
    doc["source"] = source
    return doc


def _accounted(report, counts):
    """Every bundle record extracted, and every phase's rows loaded, matched, merged, rejected, held or skipped."""
    assert report["ok"], report.get("attention")
    per_type = report["source"]["per_type"]
    assert {t: per_type[t]["extracted"] for t in counts} == counts
    for phase in report["phases"]:
        assert sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped")) == \
            phase["source"], phase
        assert phase["unexplained_count"] == 0, phase


def _published(sf, ids):
    soql = "SELECT Id FROM CaseComment WHERE IsPublished = true AND Id IN ('" + "','".join(ids) + "')"
    return sf.query_all(soql)["totalSize"]


def test_a_bundle_migrates_on_both_engines_with_every_record_accounted_for(sfemu, sam_stack, tmp_path):
    tickets = 6
    manifest = write_sample(tmp_path / "bundle", tickets=tickets)  # non-ASCII, internal notes, attachments, a bad value
    counts = {f["object_type"]: f["lines"] for f in manifest["files"]}
    users = destination_users(["ana@agents.example.test"])
    mid = "m-export-both"

    # -- the local engine, the bundle read from a path (a zip) --------------------------------------------
    prepare_org(sfemu.running, users)
    zipped = zip_bundle(tmp_path / "bundle", tmp_path / "bundle.zip")
    cfg = MigrationConfig.model_validate(_config(mid, None, sfemu.running, file_secrets(tmp_path / "secrets"),
                                                 {"type": "export", "path": str(zipped)}))
    engine = LocalEngine(cfg, workdir=tmp_path / "local", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    _accounted(outcome.report, counts)
    note = outcome.report["source"]["per_type"]["note"]  # no home in Salesforce: skipped with its reason, counted
    assert note["extracted"] == note["skipped"] == 1
    assert any(s["object_type"] == "note" and s["reason"] for s in outcome.report["source"]["skip_reasons"])
    cases = next(p for p in outcome.report["phases"] if p["phase"] == "cases")
    assert cases["flag_counts"].get("bad_value") == 1  # the ticket with a number for a date: loaded, and reported
    sf = sfemu.connect()
    subjects = {r["Subject"] for r in sf.query_all("SELECT Subject FROM Case")["records"]}
    assert "Ticket 3: ça ne marche pas — ✓ 3" in subjects and "a ticket with a bad date" in subjects
    internal = {f"message:{r['provenance']['id']}" for k in engine.stage.list("extract/message/")
                for r in engine.stage.read_records(k) if r["visibility"] == "internal"}
    assert len(internal) == tickets  # one internal note per ticket
    loaded = [e for e in engine.crosswalk.iter_migration(mid, phase="comments") if e.dest_id]
    notes = [e.dest_id for e in loaded if e.source_key.split("#")[0] in internal]
    public = [e.dest_id for e in loaded if e.source_key.split("#")[0] not in internal]
    assert len(notes) == tickets and public
    assert _published(sf, notes) == 0 and _published(sf, public) == len(public)
    assert sfemu.admin.counts().get("ContentVersion") == counts["attachment"]
    first = sfemu.admin.counts()
    local_state = destination_state(sf)

    # a re-run of the same migration from scratch (another folder, empty crosswalk) creates nothing twice
    again = LocalEngine(cfg, workdir=tmp_path / "local-again", progress=False).run(approve=True)
    assert again.status == "succeeded", again.message
    assert sfemu.admin.counts() == first

    # -- the committed state machine on moto, the bundle staged first with `hdm stage-input` ---------------
    prepare_org(sfemu.running, users)
    doc = _config(mid, None, sfemu.running, lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v),
                  {"type": "export", "staged": "inputs/bundle-0000000000000000/"})
    (tmp_path / "aws.json").write_text(json.dumps(doc))
    staged = CliRunner().invoke(main, ["stage-input", "--config", str(tmp_path / "aws.json"), "--engine", "aws",
                                       "--stage-bucket", sam_stack.env["HDM_STAGE_BUCKET"], str(tmp_path / "bundle")])
    assert staged.exit_code == 0, staged.output
    prefix = staged.output.split(" under ", 1)[1].split()[0]
    doc["source"] = {"type": "export", "staged": prefix}
    status, body = sam_stack.api("POST", "/migrations", doc)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:{mid}"
    done = sam_stack.wait(arn, timeout=300)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", f"/migrations/{mid}")[1]
    from hdm.engines import aws

    aws_report = aws.stage_for(mid).get_json("reports/reconciliation.json")
    _accounted(aws_report, counts)
    aws_state = destination_state(sfemu.connect())
    assert aws_state.keys() == local_state.keys()
    for obj in local_state:
        assert aws_state[obj] == local_state[obj], f"{obj} differs between the engines"


def test_an_osticket_database_via_a_bundle_lands_as_the_database_itself(osticket_db, mariadb, sfemu, tmp_path):
    db = osticket_db(version="1.18", tickets=8, seed=29)
    with mariadb.connect(database=db.database) as conn:
        users = destination_users(agent_emails(conn, db.prefix))
    params = {"host": db.host, "port": db.port, "user": db.user, "password": db.password, "database": db.database}
    with OsTicketSource(params, attachments_dir=str(db.files_dir)) as src:
        manifest = export_source(src, tmp_path / "bundle", chunk_rows=5, stage=LocalStage(tmp_path / "scratch"))
    assert manifest["producer"]["system"] == "osticket"
    secrets = file_secrets(tmp_path / "secrets")
    mid = "m-export-same"

    prepare_org(sfemu.running, users)
    direct = MigrationConfig.model_validate(config_document(mid, db, sfemu.running, secrets, OWNER,
                                                            require_approval=False, chunk_rows=5))
    outcome = LocalEngine(direct, workdir=tmp_path / "direct", progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    direct_state = destination_state(sfemu.connect())

    prepare_org(sfemu.running, users)
    via = MigrationConfig.model_validate(_config(mid, db, sfemu.running, secrets,
                                                 {"type": "export", "path": str(tmp_path / "bundle")}, chunk_rows=5))
    outcome = LocalEngine(via, workdir=tmp_path / "via", progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    _accounted(outcome.report, {f["object_type"]: f["lines"] for f in manifest["files"]})
    via_state = destination_state(sfemu.connect())
    for obj in ("Account", "Contact", "Case", "CaseComment", "ContentVersion"):
        assert direct_state.get(obj), f"nothing migrated into {obj}: nothing compared"
    assert via_state.keys() == direct_state.keys()
    for obj in direct_state:
        assert via_state[obj] == direct_state[obj], f"{obj} differs between the database and its bundle"
