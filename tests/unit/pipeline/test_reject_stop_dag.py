"""The reject-threshold stop holds back only the phases that depend on the failing one (the DAG's ``after``);
phases that do not depend on it still load, and the outcome still says the threshold was hit (exit 11)."""

from __future__ import annotations

import json

from hdm.destinations.base import LoadPhase
from hdm.engines.local import LocalEngine
from hdm.pipeline.report import exit_status
from hdm.pipeline.steps import RejectThresholdExceeded
from test_local_engine import ListSource, _config
from test_outcome import Tickets


class Branching(Tickets):
    """accounts; contacts after accounts (every 7th rejected); comments after contacts; notes after accounts
    only, declared last: it comes after the failing phase in the load order but does not depend on it."""

    def phases(self):
        return [LoadPhase("accounts", ("Account",), ("organization",)),
                LoadPhase("contacts", ("Contact",), ("contact",), after=("accounts",)),
                LoadPhase("comments", ("CaseComment",), ("contact",), after=("contacts",)),
                LoadPhase("replies", ("CaseComment",), ("contact",), after=("comments",)),
                LoadPhase("notes", ("Note",), ("organization",), after=("accounts",))]

    def transform(self, object_type, records):
        records = list(records)
        out = super().transform(object_type, records)
        if object_type == "organization":
            out["notes"] = [{"_source_key": f"{r.key}#note", "Body": "n"} for r in records]
        if object_type == "contact":
            out["replies"] = [{"_source_key": f"{r.key}#reply", "Body": "r"} for r in records]
        return out

    def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
        if phase not in ("notes", "replies"):
            return super().load_chunk(phase, chunk_id, rows, crosswalk, migration_id, run_id)
        from hdm.crosswalk.base import CrosswalkEntry, Origin, State
        from hdm.destinations.base import ChunkLoadResult, RecordOutcome

        res = ChunkLoadResult(phase, chunk_id)
        for r in rows:
            key = r["_source_key"]
            self.store.setdefault(phase, []).append(key)
            res.outcomes.append(RecordOutcome(key, "Note", "created", "0n" + key))
            crosswalk.put_many([CrosswalkEntry(migration_id, key, "Note", phase, run_id, State.LOADED,
                                               Origin.CREATED, "0n" + key)])
        return res


def _engine(tmp_path, store, reject_every=7):
    return LocalEngine(_config(reject_threshold=0.01), workdir=tmp_path, progress=False,
                       source_factory=lambda: ListSource(5, 20),
                       destination_factory=lambda: Branching(store, reject_every=reject_every))


def test_only_the_dependants_of_the_stopped_phase_are_held_back(tmp_path):
    store: dict = {}
    outcome = _engine(tmp_path, store).run(approve=True)
    assert outcome.status == "failed"
    assert "comments" not in store and "replies" not in store  # depend on contacts (replies through comments)
    assert len(store.get("notes", [])) == 5, "notes do not depend on contacts: they load"
    assert isinstance(outcome.error, RejectThresholdExceeded)
    assert outcome.error.stop["phase"] == "contacts"
    assert outcome.error.stop["dependants"] == ["comments", "replies"]
    assert "the phases that depend on it (comments, replies) were not loaded" in outcome.message

    saved = json.loads((tmp_path / "unit-test" / "stage" / "reports" / "reconciliation.json").read_text())
    assert saved["outcome"] == "failed" and saved["exit_status"] == 11
    assert exit_status(outcome.status, saved, outcome.run_id) == 11
    phases = {p["phase"]: p for p in saved["phases"]}
    assert phases["notes"]["ok"] is True and phases["notes"]["loaded"] == 5
    assert phases["comments"]["held_back"]["because"] == ["contacts"] and phases["comments"]["loaded"] == 0
    assert phases["comments"]["source"] == 20  # its records are counted, none loaded
    assert phases["replies"]["held_back"]["because"] == ["comments"]
    html = (tmp_path / "unit-test" / "stage" / "reports" / "reconciliation.html").read_text()
    assert "Not loaded:" in html and "it depends on contacts" in html

    # the cause fixed, the next run loads the rejected contacts and the held-back phases; notes are not redone
    fixed = _engine(tmp_path, store, reject_every=0).run()
    assert fixed.status == "succeeded", fixed.message
    assert fixed.report["exit_status"] == 0
    assert len(store["comments"]) == 20 and len(store["replies"]) == 20 and len(store["notes"]) == 5
