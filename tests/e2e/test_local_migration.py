"""A whole osTicket → Salesforce migration on the local engine: MariaDB → emulator, real clients."""

from __future__ import annotations

from hdm.engines.local import LocalEngine


def _counts(sfemu) -> dict[str, int]:
    return sfemu.admin.counts()


def test_every_source_record_is_accounted_for(rehearsal, tmp_path):
    make, db, sfemu = rehearsal
    outcome = LocalEngine(make(), workdir=tmp_path / "work", progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert report["ok"]
    for phase in report["phases"]:
        accounted = sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped"))
        assert accounted == phase["source"], phase
        assert phase["unexplained_count"] == 0
    per_type = report["source"]["per_type"]
    manifest = db.manifest.objects
    # tasks are tickets of kind "task" in the canonical model; their thread entries are messages too
    assert per_type["ticket"]["extracted"] == manifest["ticket"] + manifest["task"]
    assert per_type["message"]["extracted"] == manifest["message"] + manifest["task_message"]
    for object_type in ("organization", "contact", "agent", "team"):
        assert per_type[object_type]["extracted"] == manifest[object_type], object_type
    assert per_type["event"]["extracted"] == manifest["event"] + manifest["task"]  # each task has a "created" event
    # the inline files that hold bodies of 65,000+ characters become message bodies, and are reported so
    att = per_type["attachment"]
    assert att["extracted"] + att["left_at_source"] == manifest["attachment"]
    assert {"object_type": "attachment", "reason": "body_storage_file", "count": att["left_at_source"]} in \
        report["source"]["left_at_source"]
    cases = next(p for p in report["phases"] if p["phase"] == "cases")
    assert cases["rejected"] == 0, "no Case may be rejected on a prepared org"


def test_internal_notes_arrive_unpublished(rehearsal, tmp_path):
    make, db, sfemu = rehearsal
    engine = LocalEngine(make(), workdir=tmp_path / "work", progress=False)
    assert engine.run(approve=True).status == "succeeded"
    internal = {
        f"message:{row['provenance']['id']}"
        for key in engine.stage.list("extract/message/")
        for row in engine.stage.read_records(key)
        if row["visibility"] == "internal"
    }
    assert internal, "the generated data has internal notes"
    loaded = [e for e in engine.crosswalk.iter_migration("e2e-local", phase="comments") if e.dest_id]
    note_ids = [e.dest_id for e in loaded if e.source_key.split("#")[0] in internal]
    public_ids = [e.dest_id for e in loaded if e.source_key.split("#")[0] not in internal]
    assert note_ids and public_ids
    sf = sfemu.connect()

    def published(ids: list[str]) -> int:
        soql = "SELECT Id FROM CaseComment WHERE IsPublished = true AND Id IN ('" + "','".join(ids[:200]) + "')"
        return sf.query_all(soql)["totalSize"]

    assert published(note_ids) == 0
    assert published(public_ids) == len(public_ids[:200])


def test_a_re_run_creates_no_duplicate(rehearsal, tmp_path):
    make, db, sfemu = rehearsal
    cfg = make()
    assert LocalEngine(cfg, workdir=tmp_path / "work", progress=False).run(approve=True).status == "succeeded"
    first = _counts(sfemu)
    # the same migration again, and a fresh run of the same config from scratch in another folder
    assert LocalEngine(cfg, workdir=tmp_path / "work", progress=False).run().status == "succeeded"
    assert _counts(sfemu) == first
    again = LocalEngine(cfg, workdir=tmp_path / "work2", progress=False).run(approve=True)
    assert again.status == "succeeded", again.message
    assert _counts(sfemu) == first


def test_rollback_leaves_the_org_as_it_was(rehearsal, tmp_path):
    make, db, sfemu = rehearsal
    before = _counts(sfemu)
    engine = LocalEngine(make(), workdir=tmp_path / "work", progress=False)
    assert engine.run(approve=True).status == "succeeded"
    assert _counts(sfemu) != before
    result = engine.rollback()
    assert result["restored"], result
    after = _counts(sfemu)
    for obj in ("Account", "Contact", "Case", "CaseComment", "ContentVersion", "ContentDocument", "User"):
        assert after.get(obj, 0) == before.get(obj, 0), obj
