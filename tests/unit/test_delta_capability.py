"""The generic delta-run machinery (hdm/delta.py, hdm/pipeline/delta.py) without a real source."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hdm.crosswalk.base import CrosswalkEntry, Origin, State
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.delta import DeltaNotSupported, NoEarlierRun, delta_chunks, id_groups, relabel, require_delta
from hdm.errors import classify
from hdm.exitcodes import CONFIG
from hdm.pipeline import delta
from hdm.sources.base import ChunkSpec
from hdm.stage.local import LocalStage


def test_changed_ids_are_grouped_by_count_and_never_span_a_long_gap():
    assert id_groups([5, 1, 2, 3, 2], 2) == [(1, 2, 2), (3, 5, 2)]
    assert id_groups([1, 2, 100, 101], 10) == [(1, 2, 2), (100, 101, 2)]  # the unchanged 3..99 are not re-read
    assert id_groups([], 3) == []
    chunks = delta_chunks("ticket", [7, 8], 10, "dabc")
    assert [c.chunk_id for c in chunks] == ["ticket-dabc-0000000007-0000000008"]
    full = ChunkSpec.key_range("status", 1, 9, 5)
    assert relabel(full, "dabc").chunk_id == "status-dabc-0000000001-0000000009" != full.chunk_id
    assert relabel(full, "dabc").cursor == full.cursor


def test_a_source_without_the_capability_says_so_and_exits_as_a_usage_error():
    with pytest.raises(DeltaNotSupported, match="the kayako source cannot take delta runs") as caught:
        require_delta(SimpleNamespace(system="kayako"))
    assert classify(caught.value)[0] == CONFIG


@pytest.mark.parametrize("opts, message", [({"delta_deletes": "mark"}, "not implemented"),
                                           ({"delta_deletes": "purge"}, "one of report, delete"),
                                           ({"delta_lag_seconds": -1}, "negative")])
def test_bad_delta_options_are_refused(opts, message):
    with pytest.raises(delta.DeltaConfigError, match=message):
        delta.options(SimpleNamespace(options=opts))
    assert delta.options(SimpleNamespace(options={})) == (300, "report")


def _ctx(tmp_path, run_id="r2"):
    return SimpleNamespace(migration_id="m1", run_id=run_id, stage=LocalStage(tmp_path / "stage"),
                           crosswalk=SqliteCrosswalk(tmp_path / "cw.sqlite"),
                           config=SimpleNamespace(chunk_rows=10, options={}, max_workers=1))


class _Source:
    system = "fake"

    def __init__(self, live):
        self.live, self.since = live, None

    def delta_mark(self):
        return {"at": 2}

    def plan_delta(self, chunk_rows, since, lag, label):
        self.since = since
        return delta_chunks("ticket", [3], chunk_rows, label)

    def live_keys(self):
        return self.live


def test_no_delta_before_a_finished_run(tmp_path):
    with pytest.raises(NoEarlierRun, match="run the full migration to the end first"):
        delta.plan_delta(_ctx(tmp_path), _Source({}))


def test_deletes_are_found_by_id_sets_reported_and_the_next_delta_starts_at_the_last_mark(tmp_path):
    ctx = _ctx(tmp_path, run_id="r1")
    delta.record_finished(ctx, {"mode": "full", "mark": {"at": 1}, "chunks": []}, ok=True)
    entries = [CrosswalkEntry("m1", "ticket:1", "Case", "cases", "r1", State.LOADED, Origin.CREATED, "500A"),
               CrosswalkEntry("m1", "ticket:2", "Case", "cases", "r1", State.LOADED, Origin.CREATED, "500B"),
               CrosswalkEntry("m1", "message:9#1", "CaseComment", "comments", "r1", State.LOADED, Origin.CREATED,
                              "00aC"),
               CrosswalkEntry("m1", "agent:4", "User", "users", "r1", State.LOADED, Origin.MATCHED, "005D")]
    ctx.crosswalk.put_many(entries)
    ctx = _ctx(tmp_path, run_id="r2")
    source = _Source({"ticket": {"ticket:1"}, "message": set()})  # agents are not listed: never judged
    chunks, report = delta.plan_delta(ctx, source)
    assert source.since == {"at": 1}
    assert [c.object_type for c in chunks] == ["ticket"]
    assert report["deleted_in_source"] == {"message": ["message:9"], "ticket": ["ticket:2"]}
    ctx.stage.put_json("plan.json", {"mode": "delta", "mark": {"at": 2}, "chunks": [],
                                     "delta_report": delta.delta_report_key("r2")})
    applied = delta.apply_deletes(ctx, destination=None, phase_order=["comments", "cases"])  # report: no writes
    assert applied == {"policy": "report", "deleted": 0, "left_matched": 0}
    assert ctx.crosswalk.get("m1", "ticket:2").state == State.LOADED
    runs = delta.record_finished(ctx, ctx.stage.get_json("plan.json"), ok=True)
    assert [(r["mode"], r["mark"], r.get("deleted_in_source")) for r in runs] == [("full", {"at": 1}, None),
                                                                                  ("delta", {"at": 2}, 2)]
    assert delta.last_mark(ctx.stage) == {"at": 2}
    assert delta.record_finished(ctx, ctx.stage.get_json("plan.json"), ok=True) == runs  # once per run


def test_the_delete_policy_deletes_what_this_migration_created_children_first(tmp_path):
    ctx = _ctx(tmp_path, run_id="r1")
    ctx.config.options = {"delta_deletes": "delete"}
    delta.record_finished(ctx, {"mode": "full", "mark": {"at": 1}}, ok=True)
    ctx.crosswalk.put_many([
        CrosswalkEntry("m1", "ticket:2", "Case", "cases", "r1", State.LOADED, Origin.CREATED, "500B"),
        CrosswalkEntry("m1", "message:9", "CaseComment", "comments", "r1", State.LOADED, Origin.CREATED, "00aC"),
        CrosswalkEntry("m1", "contact:5", "Contact", "contacts", "r1", State.LOADED, Origin.MATCHED, "003E")])
    ctx = _ctx(tmp_path, run_id="r2")
    ctx.config.options = {"delta_deletes": "delete"}
    delta.plan_delta(ctx, _Source({"ticket": set(), "message": set(), "contact": set()}))
    ctx.stage.put_json("plan.json", {"delta_report": delta.delta_report_key("r2")})
    calls = []

    class Dest:
        def rollback(self, entries):
            calls.append([e.source_key for e in entries])
            return entries

    applied = delta.apply_deletes(ctx, Dest(), ["comments", "contacts", "cases"])
    assert calls == [["message:9"], ["ticket:2"]]  # the matched contact is never touched
    assert applied == {"policy": "delete", "deleted": 2, "left_matched": 1}
    assert ctx.crosswalk.get("m1", "ticket:2").state == State.ROLLED_BACK
    assert delta.apply_deletes(ctx, Dest(), ["comments", "cases"])["deleted"] == 0  # idempotent


def test_a_full_run_planned_again_before_it_finished_keeps_its_first_mark(tmp_path):
    from hdm.pipeline import steps
    from hdm.sources.base import Discovery

    class Full(_Source):
        marks = iter([{"at": 1}, {"at": 2}, {"at": 3}])

        def delta_mark(self):
            return next(self.marks)

        def discover(self):
            return Discovery("fake", "1", {})

        def plan(self, chunk_rows):
            return []

    src = Full({})
    ctx = _ctx(tmp_path)
    ctx.source = lambda: src
    steps.discover(ctx)
    steps.discover(ctx)  # resumed (the AWS engine discovers again): changes since the first start are kept
    assert ctx.stage.get_json("plan.json")["mark"] == {"at": 1}
    delta.record_finished(ctx, ctx.stage.get_json("plan.json"), ok=True)
    steps.discover(ctx)  # a new full run after a finished one takes a new mark
    assert ctx.stage.get_json("plan.json")["mark"] == {"at": 3}
