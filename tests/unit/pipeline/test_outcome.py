"""The outcome tells the truth: `hdm run` ends clean (0), completed with records that need attention (10, with
counts by reason) or failed (1; 11 when a phase's rejected share passed the threshold and the run stopped before
the phases that depend on it)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hdm.engines.local import LocalEngine
from hdm.pipeline.report import EXIT_STATUS, exit_status
from test_local_engine import ListSource, MemoryDestination, _config


class Tickets(MemoryDestination):
    """accounts → contacts → comments (comments depend on contacts); contacts divisible by 7 are rejected."""

    def __init__(self, store, reject_every: int = 7, flag: bool = False):
        super().__init__(store)
        self.reject_every, self.flag = reject_every, flag

    def phases(self):
        from hdm.destinations.base import LoadPhase

        return [*super().phases(), LoadPhase("comments", ("CaseComment",), ("contact",), after=("contacts",))]

    def transform(self, object_type, records):
        records = list(records)
        out = super().transform(object_type, records)
        if object_type == "contact":
            out["comments"] = [{"_source_key": f"{r.key}#0", "Body": "hi"} for r in records]
        return out

    def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
        from hdm.crosswalk.base import CrosswalkEntry, Origin, State
        from hdm.destinations.base import ChunkLoadResult, RecordOutcome

        if phase != "comments":
            res = self._load(phase, chunk_id, rows, crosswalk, migration_id, run_id)
            if self.flag and phase == "contacts":
                res.flags.append({"source_key": rows[0]["_source_key"], "code": "value_not_loaded",
                                  "field": "Birthday__c", "original": "yesterday", "reason": "not a date"})
            return res
        self.store.setdefault("comments", []).extend(r["_source_key"] for r in rows)
        res = ChunkLoadResult(phase, chunk_id)
        entries = []
        for r in rows:
            res.outcomes.append(RecordOutcome(r["_source_key"], "CaseComment", "created", "00a"))
            entries.append(CrosswalkEntry(migration_id, r["_source_key"], "CaseComment", phase, run_id, State.LOADED,
                                          Origin.CREATED, "00a" + r["_source_key"]))
        crosswalk.put_many(entries)
        return res

    def _rejected(self, row):
        return self.reject_every and int(row["_source_key"].split(":")[1]) % self.reject_every == 0

    def _load(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
        from hdm.crosswalk.base import CrosswalkEntry, Origin, State
        from hdm.destinations.base import ChunkLoadResult, RecordOutcome

        obj = "Account" if phase == "accounts" else "Contact"
        res = ChunkLoadResult(phase, chunk_id)
        entries = []
        for r in rows:
            key = r["_source_key"]
            if obj == "Contact" and self._rejected(r):
                res.outcomes.append(RecordOutcome(key, obj, "rejected", None, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                  "Region is not served", ["Region__c"]))
                entries.append(CrosswalkEntry(migration_id, key, obj, phase, run_id, State.REJECTED,
                                              reason="FIELD_CUSTOM_VALIDATION_EXCEPTION: Region is not served"))
                continue
            dest_id = f"{obj[:3]}{next(self.ids):06d}"
            self.store[dest_id] = (obj, r)
            res.outcomes.append(RecordOutcome(key, obj, "created", dest_id))
            entries.append(CrosswalkEntry(migration_id, key, obj, phase, run_id, State.LOADED, Origin.CREATED,
                                          dest_id))
        crosswalk.put_many(entries)
        return res


def engine(tmp_path, store, threshold, **kw):
    return LocalEngine(_config(reject_threshold=threshold), workdir=tmp_path, progress=False,
                       source_factory=lambda: ListSource(5, 20), destination_factory=lambda: Tickets(store, **kw))


def test_rejects_above_the_threshold_stop_before_the_comments_load(tmp_path):
    store: dict = {}
    outcome = engine(tmp_path, store, 0.01).run(approve=True)  # 2 of 20 contacts rejected: 10% > 1%
    assert outcome.status == "failed"
    assert "comments" not in store, "the phase that depends on the contacts must not load"
    assert "2 of 20 records rejected" in outcome.message and "Region__c" in outcome.message
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in outcome.message
    saved = json.loads((tmp_path / "unit-test" / "stage" / "reports" / "reconciliation.json").read_text())
    assert saved["outcome"] == "failed" and saved["exit_status"] == EXIT_STATUS["reject_threshold"] == 11
    assert saved["stopped"]["causes"][0]["fields"] == "Region__c"
    assert exit_status(outcome.status, saved, outcome.run_id) == 11
    # once the cause is fixed, the next run loads the rejected contacts again and goes on to the comments
    fixed = LocalEngine(_config(reject_threshold=0.01), workdir=tmp_path, progress=False,
                        source_factory=lambda: ListSource(5, 20),
                        destination_factory=lambda: Tickets(store, reject_every=0)).run()
    assert fixed.status == "succeeded", fixed.message
    assert fixed.report["outcome"] == "clean" and len(store["comments"]) == 20


def test_rejects_below_the_threshold_complete_with_needs_attention_and_counts_by_reason(tmp_path):
    store: dict = {}
    outcome = engine(tmp_path, store, 0.2, flag=True).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert report["outcome"] == "needs_attention" and report["exit_status"] == 10
    assert report["attention"] == {"rejected: FIELD_CUSTOM_VALIDATION_EXCEPTION": 2, "values not loaded": 5}
    assert len(store["comments"]) == 20
    html = (tmp_path / "unit-test" / "stage" / "reports" / "reconciliation.html").read_text()
    assert "Values that did not arrive as the source had them" in html and "yesterday" in html
    assert "completed, needs attention (exit 10)" in html


def test_a_clean_run_exits_0(tmp_path):
    store: dict = {}
    outcome = engine(tmp_path, store, 0.01, reject_every=0).run(approve=True)
    assert outcome.report["outcome"] == "clean" and exit_status(outcome.status, outcome.report) == 0
    assert outcome.report["attention"] == {}


def test_hdm_run_exit_status_and_status_command(tmp_path, monkeypatch):
    from hdm import cli

    store: dict = {}
    monkeypatch.setattr(cli, "_engine", lambda cfg, workdir, progress=True: engine(tmp_path, store, 0.2, flag=True))
    monkeypatch.setattr(cli, "_load_config", lambda path: _config(reject_threshold=0.2))
    result = CliRunner().invoke(cli.main, ["run", "--config", "x.yaml", "--yes", "--workdir", str(tmp_path)])
    assert result.exit_code == 10, result.output
    assert "needs attention" in result.output and "2 rejected: FIELD_CUSTOM_VALIDATION_EXCEPTION" in result.output
    status = CliRunner().invoke(cli.main, ["status", "unit-test", "--workdir", str(tmp_path)])
    state = json.loads(status.output)
    assert (state["outcome"], state["exit_status"]) == ("needs_attention", 10)


def test_exit_status_of_runs_without_a_report():
    assert exit_status("failed", None) == 1
    assert exit_status("stopped", None) == 12
    assert exit_status("awaiting_approval", None) == 0
    # a report left by an earlier run does not speak for this one
    assert exit_status("failed", {"run_id": "old", "exit_status": 0}, "new") == 1


# -- flags of severity error need a person even when nothing was rejected or held ---------------------------------
def test_error_flags_on_loaded_records_are_not_clean_and_are_listed_by_code():
    from hdm.pipeline.report import outcome_of

    phase = {"ok": True, "flag_counts": {"size_mismatch": 1, "broken_chunks": 1, "comment_split": 3},
             "flags": [{"code": "size_mismatch", "severity": "error"}, {"code": "broken_chunks", "severity": "error"},
                       *[{"code": "comment_split", "severity": "info"}] * 3]}
    verdict = outcome_of([phase])  # a phase report without error_flag_counts: read from its flags
    assert (verdict["outcome"], verdict["exit_status"]) == ("needs_attention", 10)
    assert verdict["attention"] == {"error: broken_chunks": 1, "error: size_mismatch": 1}
    # the counts the reconciliation writes, and the extraction's: a source flag counted once, not twice
    phase = {"ok": True, "flag_counts": {"split_low_confidence": 2, "body_as_file": 1},
             "error_flag_counts": {"split_low_confidence": 2}}
    verdict = outcome_of([phase], {"split_low_confidence": 2, "missing_file": 1})
    assert verdict["attention"] == {"error: split_low_confidence": 2, "error: missing_file": 1}
    # info and warning flags alone stay clean
    quiet = {"ok": True, "flag_counts": {"comment_split": 1, "defaulted": 2},
             "flags": [{"code": "comment_split", "severity": "info"}, {"code": "defaulted", "severity": "warning"}] * 1}
    assert outcome_of([quiet], {})["outcome"] == "clean"


class FlaggedSource(ListSource):
    """Contact 3's attachment bytes are short (severity error); every contact has an info flag."""

    def extract(self, chunk, blobs=None):
        for rec in super().extract(chunk, blobs):
            if chunk.object_type == "contact":
                rec.flag("unknown_author", "poster kept", severity="info")
                if rec.provenance.id == "3":
                    rec.flag("size_mismatch", "read 10 bytes, file.size says 20", severity="error")
            yield rec


def test_a_run_whose_source_flagged_an_error_needs_attention(tmp_path):
    store: dict = {}
    outcome = LocalEngine(_config(reject_threshold=0.5), workdir=tmp_path, progress=False,
                          source_factory=lambda: FlaggedSource(5, 20),
                          destination_factory=lambda: Tickets(store, reject_every=0)).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert (report["outcome"], report["exit_status"]) == ("needs_attention", 10)
    assert report["attention"] == {"error: size_mismatch": 1}
    assert report["source"]["source_error_flags"] == {"size_mismatch": 1}
    assert exit_status(outcome.status, report, outcome.run_id) == 10
