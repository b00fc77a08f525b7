"""A ticket without a requester (an osTicket task): Intercom needs a contact on every ticket. Config
``no_requester_contact``: "placeholder" (default) makes ONE contact for the migration (no email, found again by its
external_id, never duplicated, rolled back) and flags each such ticket ``requester_placeholder``; "hold" keeps the
ticket and its entries held (``no_requester``)."""

from __future__ import annotations

import pytest
from fake_intercom import FakeIntercom, Killed
from hdm.crosswalk.base import Origin, State
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.destinations.intercom import phases as P
from hdm.destinations.intercom.config import IntercomDestinationConfig
from hdm.destinations.intercom.destination import IntercomDestination
from hdm.destinations.intercom.options import PLACEHOLDER_CONTACT_KEY, PLACEHOLDER_CONTACT_NAME
from hdm.model import Message, MessageKind, Provenance, StatusState, Ticket, Visibility
from hdm.stage.local import LocalStage
from test_intercom_loaders import records

EXTERNAL_ID = f"hdm:m1:{PLACEHOLDER_CONTACT_KEY}"


def _records(stage):
    recs = records(stage)
    for i in (8, 9):  # two tasks: no requester, one with an agent's note
        recs["ticket"].append(Ticket(Provenance("osticket", "task", str(i)), number=f"T{i}", subject=f"Task {i}",
                                     status="Open", status_state=StatusState.OPEN, created_at="2023-04-02T10:00:00Z"))
    recs["message"].append(Message(Provenance("osticket", "thread_entry", "80"), ticket="ticket:8", position=0,
                                   kind=MessageKind.AGENT, visibility=Visibility.INTERNAL, author="agent:1",
                                   created_at="2023-04-02T11:00:00Z", body_html="<p>check the printer</p>"))
    return recs


def _migrate(fake, stage, cw, run_id="r1", **options):
    dest = IntercomDestination(lambda: fake, options={"stage": stage, "legacy_namespace": "m1", **options})
    if not hasattr(stage, "_recs"):
        stage._recs = _records(stage)
    rows: dict[str, list] = {}
    for object_type, rs in stage._recs.items():
        for phase, out in dest.transform(object_type, rs).items():
            rows.setdefault(phase, []).extend(out)
    dest.prepare({"stage": stage})
    results = {}
    for phase in dest.phases():
        # the tickets in two chunks: the second finds the placeholder the first made
        chunks = [rows.get(phase.name, [])[:2], rows.get(phase.name, [])[2:]] if phase.name == P.TICKETS else \
            [rows.get(phase.name, [])]
        flags, counts, mismatches = [], {}, []
        for n, chunk in enumerate(chunks):
            r = dest.load_chunk(phase.name, f"c{n}", chunk, cw, "m1", run_id).to_dict()
            flags += r["flags"]
            for k, v in r["counts"].items():
                counts[k] = counts.get(k, 0) + v
            mismatches += dest.verify_chunk(phase.name, chunk, cw, "m1")
        results[phase.name] = {"flags": flags, "counts": counts, "mismatches": mismatches}
    return dest, results


def _placeholders(fake):
    return [c for c in fake.contacts.values() if c.get("external_id") == EXTERNAL_ID]


@pytest.fixture
def world(tmp_path, fake_intercom):
    return fake_intercom, LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite")


def test_the_policy_defaults_to_placeholder_and_takes_hold():
    cfg = IntercomDestinationConfig.model_validate({"type": "intercom", "access_token": "env:X"})
    assert cfg.no_requester_contact == "placeholder"
    hold = {"type": "intercom", "access_token": "env:X", "no_requester_contact": "hold"}
    assert IntercomDestinationConfig.model_validate(hold).no_requester_contact == "hold"
    with pytest.raises(ValueError):
        IntercomDestinationConfig.model_validate({**hold, "no_requester_contact": "drop"})


def test_tickets_without_requester_get_one_placeholder_contact_and_are_flagged(world):
    fake, stage, cw = world
    _, results = _migrate(fake, stage, cw)
    assert all(not r["mismatches"] for r in results.values()), {k: r["mismatches"] for k, r in results.items()}
    assert results["tickets"]["counts"] == {"created": 5}
    [placeholder] = _placeholders(fake)
    assert placeholder["name"] == PLACEHOLDER_CONTACT_NAME and not placeholder.get("email"), "nothing is ever sent"
    tasks = [t for t in fake.tickets.values() if t["ticket_attributes"]["Original ticket number"] in ("T8", "T9")]
    assert len(tasks) == 2 and all(t["contacts"]["contacts"] == [{"id": placeholder["id"]}] for t in tasks)
    flagged = {f["source_key"] for f in results["tickets"]["flags"] if f["code"] == "requester_placeholder"}
    assert flagged == {"ticket:8", "ticket:9"}
    assert all(f["severity"] == "warning" for f in results["tickets"]["flags"] if f["code"] == "requester_placeholder")
    assert not [f for f in results["tickets"]["flags"] if f["code"] == "no_requester"]
    [task8] = [t for t in tasks if t["ticket_attributes"]["Original ticket number"] == "T8"]
    assert [(p["part_type"], "printer" in p["body"]) for p in task8["parts"]] == [("note", True)]
    entry = [e for e in cw.iter_migration("m1", phase=P.TICKETS) if e.source_key == PLACEHOLDER_CONTACT_KEY]
    assert [(e.dest_object, e.state, e.origin, e.dest_id) for e in entry] == \
        [(P.CONTACT, State.LOADED, Origin.CREATED, placeholder["id"])]
    # a re-run: found in the crosswalk, not created again
    calls = fake.calls.by.get("create_contact", 0)
    _, again = _migrate(fake, stage, cw, run_id="r2")
    assert len(_placeholders(fake)) == 1 and fake.calls.by.get("create_contact", 0) == calls
    assert again["tickets"]["counts"] == {"unchanged": 5} and len(fake.tickets) == 5


@pytest.mark.parametrize("kill", [("contact", 4), ("ticket", 4), ("ticket", 5)])
def test_a_killed_run_re_run_makes_no_second_placeholder(tmp_path, fake_intercom, kill, monkeypatch):
    from hdm.destinations.intercom import destination

    monkeypatch.setattr(destination, "TICKET_WORKERS", 1)  # one thread: the kill lands on a known call
    stage, cw = LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite")
    fake_intercom.kill_at = kill  # contact #4 is the placeholder (carol, dan, eve, then it); tickets 4, 5 the tasks
    with pytest.raises(Killed):
        _migrate(fake_intercom, stage, cw)
    if kill[0] == "contact":  # it landed, the crosswalk only has the pending marker
        assert len(_placeholders(fake_intercom)) == 1
        [e] = [e for e in cw.iter_migration("m1", phase=P.TICKETS) if e.source_key == PLACEHOLDER_CONTACT_KEY]
        assert e.state == State.PENDING and e.dest_id is None
    _, results = _migrate(fake_intercom, stage, cw, run_id="r2")
    assert len(_placeholders(fake_intercom)) == 1
    assert len(fake_intercom.tickets) == 5
    assert all(not r["mismatches"] for r in results.values())
    # a fresh crosswalk (lost state): the 409 on its external_id finds it, still one
    _migrate(fake_intercom, LocalStage(tmp_path / "fresh"), SqliteCrosswalk(tmp_path / "fresh.sqlite"), run_id="r3")
    assert len(_placeholders(fake_intercom)) == 1 and len(fake_intercom.tickets) == 5


def test_hold_policy_keeps_todays_behaviour(world):
    fake, stage, cw = world
    _, results = _migrate(fake, stage, cw, no_requester_contact="hold")
    assert not _placeholders(fake) and len(fake.tickets) == 3
    assert results["tickets"]["counts"] == {"created": 3, "held": 2}
    held = {f["source_key"] for f in results["tickets"]["flags"] if f["code"] == "no_requester"}
    assert held == {"ticket:8", "ticket:9"}
    assert not [f for f in results["tickets"]["flags"] if f["code"] == "requester_placeholder"]
    assert results["parts"]["counts"].get("held") == 1  # the task's note waits with its ticket


def test_rollback_removes_the_placeholder(world):
    fake, stage, cw = world
    dest, _ = _migrate(fake, stage, cw)
    assert len(_placeholders(fake)) == 1
    for phase in reversed(dest.phases()):
        if not phase.rolled_back:
            continue
        entries = [e for e in cw.iter_migration("m1", phase=phase.name) if e.origin == Origin.CREATED
                   and (e.state == State.PENDING or (e.dest_id and e.state == State.LOADED))]
        if entries:
            dest.rollback(entries)
    assert not _placeholders(fake) and not fake.tickets
    assert dest.rollback_proof([])["remaining"] == 0


def test_the_sweep_finds_the_placeholder_by_its_legacy_id(world, tmp_path):
    fake, stage, cw = world
    _migrate(fake, stage, cw)
    dest = IntercomDestination(lambda: fake, options={"stage": stage, "legacy_namespace": "m1"})
    assert dest.rollback_sweep()["contact"] == 4  # carol, dan, eve and the placeholder
    assert not _placeholders(fake)


def test_fake_counts_are_isolated():
    assert FakeIntercom([], []).contacts == {}
