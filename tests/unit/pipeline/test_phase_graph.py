"""Load phases are declared once, as a validated DAG (hdm.destinations.base.PhaseGraph): the load plan, the
routing of transform outputs, the concurrency, the rollback order and the reject-threshold stop all come from it."""

from __future__ import annotations

import json

import pytest
from hdm.destinations.base import LoadPhase, PhaseGraph, PhaseGraphError
from hdm.engines.local import LocalEngine
from hdm.pipeline import steps
from test_local_engine import ListSource, MemoryDestination, _config
from test_outcome import Tickets


def _p(name, after=(), **kw):
    return LoadPhase(name, (name.title(),), ("ticket",), after=tuple(after), **kw)


def test_topological_order_is_stable_and_follows_after():
    graph = PhaseGraph([_p("c", after=["b"]), _p("a"), _p("b", after=["a"]), _p("d")])
    assert graph.names() == ["a", "b", "c", "d"]  # c waits for b; d (free) keeps its place after c's turn
    graph = PhaseGraph([_p("x"), _p("y"), _p("z")])
    assert graph.names() == ["x", "y", "z"], "no after: the declared order is kept"
    assert [p.name for p in graph.rollback_order()] == ["z", "y", "x"]


def test_a_cycle_is_refused():
    with pytest.raises(PhaseGraphError, match="cycle"):
        PhaseGraph([_p("a", after=["c"]), _p("b", after=["a"]), _p("c", after=["b"]), _p("free")])


def test_an_unknown_after_is_refused():
    with pytest.raises(PhaseGraphError, match="unknown phase.*'contact'"):
        PhaseGraph([_p("accounts"), _p("contacts", after=["contact"])])


def test_a_duplicate_name_and_a_self_reference_are_refused():
    with pytest.raises(PhaseGraphError, match="declared twice"):
        PhaseGraph([_p("a"), _p("a")])
    with pytest.raises(PhaseGraphError, match="after itself"):
        PhaseGraph([_p("a", after=["a"])])


def test_every_transform_output_is_consumed_by_exactly_one_phase():
    with pytest.raises(PhaseGraphError, match=r"\['notes'\] are consumed by no load phase"):
        PhaseGraph([_p("accounts"), _p("contacts")], outputs=["accounts", "contacts", "notes"])
    with pytest.raises(PhaseGraphError, match="consumed by both"):
        PhaseGraph([_p("accounts"), _p("more_accounts", consumes=("accounts",))])
    graph = PhaseGraph([_p("accounts"), _p("people", consumes=("contacts", "leads"))],
                       outputs=["accounts", "contacts", "leads"])
    assert graph.phase_of_output("leads") == "people"
    with pytest.raises(PhaseGraphError):
        graph.phase_of_output("notes")


def test_dependants_are_transitive_and_in_order():
    graph = PhaseGraph([_p("users"), _p("accounts"), _p("contacts", after=["accounts"]),
                        _p("cases", after=["contacts", "users"]), _p("comments", after=["cases"]),
                        _p("tags")])
    assert graph.dependants("accounts") == ["contacts", "cases", "comments"]
    assert graph.dependants("users") == ["cases", "comments"]
    assert graph.dependants("comments") == [] and graph.dependants("tags") == []


class Notes(MemoryDestination):
    """Returns rows under an output no declared phase loads."""

    def transform(self, object_type, records):
        out = super().transform(object_type, records)
        if object_type == "contact":
            out["notes"] = [{"_source_key": "contact:1", "Body": "lost?"}]
        return out


def test_rows_of_an_output_no_phase_loads_stop_the_transform_instead_of_vanishing(tmp_path):
    outcome = LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: ListSource(2, 3),
                          destination_factory=lambda: Notes({})).run(approve=True)
    assert outcome.status == "failed"
    assert isinstance(outcome.error, PhaseGraphError) and "'notes'" in str(outcome.error)


class OrderedTickets(Tickets):
    """Tickets with the dependencies declared: contacts after accounts, comments after contacts, and a phase
    declared before its prerequisite, plus a concurrency per phase."""

    def phases(self):
        return [LoadPhase("comments", ("CaseComment",), ("contact",), after=("contacts",), max_concurrency=3),
                LoadPhase("contacts", ("Contact",), ("contact",), after=("accounts",), max_concurrency=1),
                LoadPhase("accounts", ("Account",), ("organization",), max_concurrency=2)]


def test_the_load_plan_and_rollback_follow_the_graph_and_its_concurrency(tmp_path):
    store: dict = {}
    engine = LocalEngine(_config(reject_threshold=0.5), workdir=tmp_path, progress=False,
                         source_factory=lambda: ListSource(5, 20), destination_factory=lambda: OrderedTickets(store))
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    plan = json.loads((tmp_path / "unit-test" / "stage" / steps.LOAD_PLAN_KEY).read_text())
    assert [(p["name"], p["max_concurrency"], p["after"]) for p in plan] == [
        ("accounts", 2, []), ("contacts", 1, ["accounts"]), ("comments", 3, ["contacts"])]
    assert [p["phase"] for p in outcome.phases] == ["accounts", "contacts", "comments"]
    result = engine.rollback()
    assert [p["phase"] for p in result["phases"]] == ["comments", "contacts", "accounts"]  # newest first


def test_the_reject_threshold_stop_names_the_graph_dependants(tmp_path):
    store: dict = {}
    outcome = LocalEngine(_config(reject_threshold=0.01), workdir=tmp_path, progress=False,
                          source_factory=lambda: ListSource(5, 20),
                          destination_factory=lambda: OrderedTickets(store)).run(approve=True)
    assert outcome.status == "failed" and "comments" not in store
    stop = outcome.error.stop
    assert stop["phase"] == "contacts" and stop["dependants"] == ["comments"]
    assert "the phases that depend on it (comments)" in outcome.message
    saved = json.loads((tmp_path / "unit-test" / "stage" / "reports" / "reconciliation.json").read_text())
    assert saved["stopped"]["dependants"] == ["comments"] and saved["exit_status"] == 11


class People(MemoryDestination):
    """One phase loads two transform outputs made from the same extract chunks (same chunk ids)."""

    def phases(self):
        return [LoadPhase("accounts", ("Account",), ("organization",)),
                LoadPhase("people", ("Contact",), ("contact",), after=("accounts",), consumes=("contacts", "leads"))]

    def transform(self, object_type, records):
        records = list(records)
        out = super().transform(object_type, records)
        if object_type == "contact":
            out["leads"] = [{"_source_key": f"lead:{r.key.split(':')[1]}", "Email": r.email} for r in records]
        return out


def test_a_phase_loads_every_output_it_consumes_each_chunk_with_its_own_result(tmp_path):
    store: dict = {}
    outcome = LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: ListSource(2, 6),
                          destination_factory=lambda: People(store)).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    people = next(p for p in outcome.phases if p["phase"] == "people")
    assert people["source"] == 12 and people["chunks"] == 4 and people["missing_chunk_results"] == 0
    results = sorted(p.name for p in (tmp_path / "unit-test" / "stage" / "results" / "people").iterdir())
    assert len(results) == 4  # two extract chunks, each giving rows to both outputs: four results, none shared
    assert sum(r.startswith("contacts.") for r in results) == 2 and sum(r.startswith("leads.") for r in results) == 2


def test_two_phases_creating_under_one_crosswalk_object_are_refused():
    from hdm.destinations.base import LoadPhase, PhaseGraph, PhaseGraphError

    with pytest.raises(PhaseGraphError, match="share the crosswalk object 'Obj'"):
        PhaseGraph([LoadPhase("a", ("Obj",), ("ticket",)), LoadPhase("b", ("Obj", "Other"), ("message",))])
    # an update pass over what the first phase made, declared after it, is allowed
    PhaseGraph([LoadPhase("a", ("Obj",), ("ticket",)), LoadPhase("b", ("Obj",), ("ticket",), after=("a",))])


def test_a_phase_made_from_an_unknown_canonical_type_is_refused():
    from hdm.destinations.base import LoadPhase, PhaseGraph, PhaseGraphError

    with pytest.raises(PhaseGraphError, match="unknown canonical type"):
        PhaseGraph([LoadPhase("a", ("Obj",), ("tickets",))])
    with pytest.raises(PhaseGraphError, match="writes no destination object"):
        PhaseGraph([LoadPhase("a", (), ("ticket",))])
