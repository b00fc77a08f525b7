"""A whole migration on the local engine, real clients, for every row of the rehearsal matrix (source fixture x
destination emulator, hdm_infra.rehearsal): osTicket on MariaDB → the Salesforce emulator today."""

from __future__ import annotations

from hdm.engines.local import LocalEngine


def test_every_source_record_is_accounted_for(rehearsal_row, tmp_path):
    outcome = LocalEngine(rehearsal_row.config("e2e-local", tmp_path / "secrets"), workdir=tmp_path / "work",
                          progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert report["ok"]
    for phase in report["phases"]:
        accounted = sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped"))
        assert accounted == phase["source"], phase
        assert phase["unexplained_count"] == 0
        assert phase["rejected"] == 0, f"nothing may be rejected on a prepared destination: {phase}"
    per_type = report["source"]["per_type"]
    inventory = rehearsal_row.source.inventory()
    # every record the fixture holds, by type (osTicket: tasks are tickets of kind "task", their entries
    # messages, each with a "created" event; see hdm_infra.providers.osticket)
    for object_type, expected in inventory.counts.items():
        assert per_type.get(object_type, {}).get("extracted", 0) == expected, object_type
    # what the source leaves at the source on purpose is reported, with its reason (osTicket: the inline files
    # that hold bodies of 65,000+ characters become message bodies)
    for object_type, reasons in inventory.left_at_source.items():
        assert per_type[object_type]["left_at_source"] == sum(reasons.values()), object_type
        for reason, count in reasons.items():
            assert {"object_type": object_type, "reason": reason, "count": count} in \
                report["source"]["left_at_source"]


def test_internal_notes_arrive_unpublished(rehearsal_row, tmp_path):
    emu = rehearsal_row.destination
    engine = LocalEngine(rehearsal_row.config("e2e-local", tmp_path / "secrets"), workdir=tmp_path / "work",
                         progress=False)
    assert engine.run(approve=True).status == "succeeded"
    internal = {
        f"message:{row['provenance']['id']}"
        for key in engine.stage.list("extract/message/")
        for row in engine.stage.read_records(key)
        if row["visibility"] == "internal"
    }
    assert internal, "the generated data has internal notes"
    loaded = [e for e in engine.crosswalk.iter_migration("e2e-local", phase=emu.message_phase)
              if e.dest_id and e.dest_object == emu.message_object]
    note_ids = [e.dest_id for e in loaded if e.source_key.split("#")[0] in internal]
    public_ids = [e.dest_id for e in loaded if e.source_key.split("#")[0] not in internal]
    assert note_ids and public_ids
    assert emu.public(emu.message_object, note_ids) == set()
    assert emu.public(emu.message_object, public_ids) == set(public_ids)


def test_a_re_run_creates_no_duplicate(rehearsal_row, tmp_path):
    emu = rehearsal_row.destination
    cfg = rehearsal_row.config("e2e-local", tmp_path / "secrets")
    assert LocalEngine(cfg, workdir=tmp_path / "work", progress=False).run(approve=True).status == "succeeded"
    first = emu.counts()
    # the same migration again, and a fresh run of the same config from scratch in another folder
    assert LocalEngine(cfg, workdir=tmp_path / "work", progress=False).run().status == "succeeded"
    assert emu.counts() == first
    again = LocalEngine(cfg, workdir=tmp_path / "work2", progress=False).run(approve=True)
    assert again.status == "succeeded", again.message
    assert emu.counts() == first


def test_rollback_leaves_the_destination_as_it_was(rehearsal_row, tmp_path):
    emu = rehearsal_row.destination
    before = emu.counts()
    engine = LocalEngine(rehearsal_row.config("e2e-local", tmp_path / "secrets"), workdir=tmp_path / "work",
                         progress=False)
    assert engine.run(approve=True).status == "succeeded"
    assert emu.counts() != before
    result = engine.rollback()
    assert result["restored"], result
    after = emu.counts()
    for obj in emu.migrated_objects:
        assert after.get(obj, 0) == before.get(obj, 0), obj
