"""Approval is bound to the mapping: it records who, when and the reviewed mapping's hash; the load refuses a
mapping whose hash differs from the approved one (exit status 2 through the CLI), and approving again unblocks."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hdm import exitcodes
from hdm.engines.local import LocalEngine
from hdm.errors import classify
from hdm.mapping.approval import MappingNotApproved
from test_local_engine import ListSource, MemoryDestination, _config


class HashedDestination(MemoryDestination):
    def __init__(self, store, holder):
        super().__init__(store)
        self.holder = holder

    def fingerprint(self) -> str:
        return self.holder["hash"]


def _engine(tmp_path, store, holder):
    return LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: ListSource(2, 3),
                       destination_factory=lambda: HashedDestination(store, holder))


def test_the_approval_records_who_when_and_the_reviewed_mapping_hash(tmp_path):
    store, holder = {}, {"hash": "aaaa"}
    engine = _engine(tmp_path, store, holder)
    assert engine.run().status == "awaiting_approval"
    engine.approve(by="dana")
    state = engine.status()
    assert state["approved_by"] == "dana" and state["approved_mapping_hash"] == "aaaa" and state["approved_at"] > 0
    assert engine.run().status == "succeeded" and store


def test_a_changed_mapping_after_approval_is_refused_before_any_write(tmp_path):
    store, holder = {}, {"hash": "aaaa"}
    engine = _engine(tmp_path, store, holder)
    engine.run()
    engine.approve(by="dana")
    holder["hash"] = "bbbb"  # e.g. the overrides were edited after the review
    outcome = engine.run()
    assert outcome.status == "failed" and isinstance(outcome.error, MappingNotApproved)
    assert not store  # nothing was written
    code, line = classify(outcome.error)
    assert code == exitcodes.CONFIG and "approved aaaa, now bbbb" in line
    engine.approve(by="dana")  # approving again binds the new mapping
    assert engine.status()["approved_mapping_hash"] == "bbbb"
    assert engine.run().status == "succeeded" and store


def test_cli_approve_records_the_mapping_hash(tmp_path):
    from hdm.cli import main

    store, holder = {}, {"hash": "cccc"}
    engine = _engine(tmp_path, store, holder)
    engine.run()
    result = CliRunner().invoke(main, ["approve", "unit-test", "--workdir", str(tmp_path), "--by", "ops"])
    assert result.exit_code == 0, result.output
    assert "mapping cccc" in result.output
    state = json.loads((tmp_path / "unit-test" / "state.json").read_text())
    assert state["approved_mapping_hash"] == "cccc" and state["approved_by"] == "ops"
    record = json.loads((tmp_path / "unit-test" / "stage" / "reports" / "mapping-approval.json").read_text())
    assert record["by"] == "ops" and record["mapping_hash"] == "cccc"


class MappedDestination(HashedDestination):
    def __init__(self, store, holder):
        super().__init__(store, holder)
        self.mapping = type("M", (), {"document": holder["document"]})()


def test_approval_is_refused_while_a_required_destination_field_is_unresolved(tmp_path):
    from hdm.mapping.approval import PROPOSAL_KEY, MappingNotApprovable

    store = {}
    holder = {"hash": "dddd", "document": {"objects": {"ticket": {"target": "Case", "fields": {}}}, "policies": {}}}
    engine = LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: ListSource(2, 3),
                         destination_factory=lambda: MappedDestination(store, holder))
    engine.stage.put_json(PROPOSAL_KEY, {"objects": {"ticket": {"target": "Case",
                                                                "required_unmapped": ["Region_Code__c"]}}})
    engine.run()
    try:
        engine.approve(by="dana")
        raise AssertionError("approval must be refused")
    except MappingNotApprovable as exc:
        assert "Case.Region_Code__c" in str(exc) and classify(exc)[0] == exitcodes.CONFIG
    assert not engine.status().get("approved")
    # mapping it (or waiving it) makes approval possible
    holder["document"]["policies"]["waived_required"] = ["Case.Region_Code__c"]
    engine.run()
    engine.approve(by="dana")
    assert engine.status()["approved"] and engine.run().status == "succeeded"
