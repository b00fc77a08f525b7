"""Item 6 of issue 12: no Intercom API tells whether the workspace's plan has private notes (and a probe note
would write to the customer's workspace), so the config says it (``private_notes_available``, default true).
False + internal notes in the source: prepare warns (report ``warnings`` and ``needs_admin``), the load holds
the notes without sending a single one, and the run's outcome is "needs attention"."""

from __future__ import annotations

import pytest
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.destinations.intercom.config import IntercomDestinationConfig
from hdm.destinations.intercom.destination import IntercomDestination
from hdm.pipeline.report import NEEDS_ATTENTION, outcome_of
from hdm.stage.local import LocalStage
from test_intercom_loaders import records


def _run(fake, stage, crosswalk, **options):
    dest = IntercomDestination(lambda: fake, options={"stage": stage, "legacy_namespace": "m1", **options})
    rows: dict[str, list] = {}
    for object_type, rs in records(stage).items():
        for phase, out in dest.transform(object_type, rs).items():
            rows.setdefault(phase, []).extend(out)
    for phase, out in rows.items():  # as the pipeline stages the transform's outputs before prepare
        stage.write_records(f"transform/{phase}/c1.jsonl.gz", out)
    prepared = dest.prepare({"stage": stage})
    results = {p.name: dest.load_chunk(p.name, "c1", rows.get(p.name, []), crosswalk, "m1", "r1").to_dict()
               for p in dest.phases()}
    return prepared, results


@pytest.fixture
def world(tmp_path, fake_intercom):
    return fake_intercom, LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite")


def test_the_config_flag_defaults_to_available():
    cfg = IntercomDestinationConfig.model_validate({"type": "intercom", "access_token": "env:X"})
    assert cfg.private_notes_available is True
    off = {"type": "intercom", "access_token": "env:X", "private_notes_available": False}
    assert IntercomDestinationConfig.model_validate(off).private_notes_available is False


def test_without_private_notes_prepare_warns_and_the_notes_are_held_unsent(world):
    fake, stage, cw = world
    # the workspace would even take notes here: what is held, is held because the config says so, before any call
    prepared, results = _run(fake, stage, cw, private_notes_available=False)
    warnings = prepared["warnings"]
    assert [w["count"] for w in warnings] == [2], warnings  # messages 3 and 6 are internal
    assert any(n.get("what") == "internal notes without private notes" for n in prepared["needs_admin"])
    parts = [p for t in fake.tickets.values() for p in t["parts"]]
    assert parts and all(p["part_type"] == "comment" for p in parts), "not one note was sent"
    held = [r for r in results["parts"]["rejected"] if r["error_code"] == "PRIVATE_NOTES_UNAVAILABLE"]
    assert {r["source_key"] for r in held} == {"message:3", "message:6"}
    assert all(r["status"] == "held" for r in held)
    # the file a customer's reply could not carry (it would go on a note) is held too, not dropped
    files = {r["source_key"]: r for r in results["attachments"]["rejected"]}
    assert files["attachment:2"]["status"] == "held" and "private notes" in files["attachment:2"]["message"]
    verdict = outcome_of([{"ok": True, "rejections": results["parts"]["rejected"]}])
    assert verdict["outcome"] == NEEDS_ATTENTION
    assert verdict["attention"].get("held: PRIVATE_NOTES_UNAVAILABLE") == 2


def test_with_private_notes_there_is_no_warning(world):
    fake, stage, cw = world
    prepared, results = _run(fake, stage, cw)
    assert not prepared.get("warnings")
    notes = " ".join(p["body"] for t in fake.tickets.values() for p in t["parts"] if p["part_type"] == "note")
    assert "rude" in notes and "refunded" in notes
