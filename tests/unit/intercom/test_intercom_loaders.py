"""The Intercom destination's loaders against an in-memory Intercom (conftest.FakeIntercom): dependency order,
matching admins/teams, 409 contacts, notes as notes, files on their part, and a run killed at several points
then re-run ending exactly like a clean run (no duplicate part, contact, company or ticket)."""

from __future__ import annotations

import pytest
from fake_intercom import FakeIntercom, Killed
from hdm.crosswalk.base import State
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.destinations.intercom.destination import IntercomDestination
from hdm.model import (
    Agent,
    Attachment,
    Category,
    Contact,
    Message,
    MessageKind,
    Organization,
    Provenance,
    StatusState,
    Team,
    Ticket,
    Visibility,
)
from hdm.stage.local import LocalStage


def _prov(obj: str, i: int) -> Provenance:
    return Provenance("osticket", obj, str(i))


def records(stage: LocalStage) -> dict[str, list]:
    blob, sha, size = stage.put_blob([b"%PDF-1.4 tiny"])
    big_blob, _, _ = stage.put_blob([b"x" * 64])
    attachments = [
        Attachment(_prov("attachment", 1), ticket="ticket:1", message="message:2", file_name="invoice.pdf",
                   content_type="application/pdf", size=size, sha256=sha, blob=blob),
        Attachment(_prov("attachment", 2), ticket="ticket:1", message="message:1", file_name="screen.png",
                   content_type="image/png", size=size, sha256=sha, blob=blob),
        Attachment(_prov("attachment", 3), ticket="ticket:2", message="message:5", file_name="huge.bin",
                   content_type="application/octet-stream", size=10**9, blob=big_blob),
    ]
    stage.write_records("extract/attachment/c1.jsonl.gz", [a.to_dict() for a in attachments])
    team = Team(_prov("team", 1), name="Support")
    missing = Team(_prov("team", 2), name="Billing")
    stage.write_records("extract/team/c1.jsonl.gz", [team.to_dict(), missing.to_dict()])
    tickets = [
        Ticket(_prov("ticket", 1), number="1001", subject="Printer on fire", requester="contact:1",
               organization="organization:1", assignee="agent:1", status="Open", status_state=StatusState.OPEN,
               created_at="2023-01-02T10:00:00Z", overdue=True, due_at="2023-01-03T10:00:00Z"),
        Ticket(_prov("ticket", 2), number="1002", subject="Refund", requester="contact:2", assignee="agent:2",
               status="Closed", status_state=StatusState.CLOSED, created_at="2023-02-02T10:00:00Z"),
        Ticket(_prov("ticket", 3), number="1003", subject="Phone only", requester="contact:3",
               status="Open", status_state=StatusState.OPEN, created_at="2023-03-02T10:00:00Z"),
    ]
    category = Category(_prov("help_topic", 4), name="Hardware")
    stage.write_records("extract/category/c1.jsonl.gz", [category.to_dict()])
    tickets[0].category, tickets[0].queue, tickets[1].queue = category.key, "team:1", "team:2"

    def msg(i, t, pos, kind, vis, author, body, atts=()):
        return Message(_prov("thread_entry", i), ticket=t, position=pos, kind=kind, visibility=vis, author=author,
                       author_name=author, created_at=f"2023-01-0{2 + pos}T1{pos}:00:00Z", body_html=body,
                       attachments=list(atts))

    C, A, P_, I_ = MessageKind.CUSTOMER, MessageKind.AGENT, Visibility.PUBLIC, Visibility.INTERNAL
    messages = [
        msg(1, "ticket:1", 0, C, P_, "contact:1", "<p>It is on fire</p>", ["attachment:2"]),
        msg(2, "ticket:1", 1, A, P_, "agent:1", "<p>Unplug it</p>", ["attachment:1"]),
        msg(3, "ticket:1", 2, A, I_, "agent:1", "<p>customer is rude, do not tell</p>"),
        msg(4, "ticket:2", 0, C, P_, "contact:2", "<p>Money back</p>"),
        msg(5, "ticket:2", 1, A, P_, "agent:2", "<p>Done</p>", ["attachment:3"]),
        msg(6, "ticket:2", 2, A, I_, "agent:2", "<p>internal: refunded 10</p>"),
        msg(7, "ticket:3", 0, C, P_, "contact:3", "<p>Call me</p>"),
    ]
    return {
        "agent": [Agent(_prov("staff", 1), first_name="Alice", email="alice@agents.example.test"),
                  Agent(_prov("staff", 2), first_name="Bob", email="bob@nowhere.example")],
        "team": [team, missing],
        "organization": [Organization(_prov("organization", 1), name="Acme", website="https://acme.example",
                                      created_at="2020-05-01T00:00:00Z")],
        "contact": [Contact(_prov("user", 1), name="Carol", email="carol@acme.example", organization="organization:1"),
                    Contact(_prov("user", 2), name="Dan", email="dan@existing.example"),
                    Contact(_prov("user", 3), name="Eve", phone="+15550001")],
        "ticket": tickets, "message": messages, "attachment": attachments,
    }


def migrate(fake, stage, crosswalk, migration_id="m1", run_id="r1") -> dict[str, dict]:
    dest = IntercomDestination(lambda: fake, options={"stage": stage, "legacy_namespace": migration_id})
    recs = records(stage) if not stage.exists("extract/attachment/c1.jsonl.gz") else _records_cache[id(stage)]
    _records_cache[id(stage)] = recs
    rows: dict[str, list] = {}
    for object_type, rs in recs.items():
        for phase, out in dest.transform(object_type, rs).items():
            rows.setdefault(phase, []).extend(out)
    dest.prepare({"stage": stage})
    results = {}
    for phase in dest.phases():
        res = dest.load_chunk(phase.name, "c1", rows.get(phase.name, []), crosswalk, migration_id, run_id)
        res_dict = res.to_dict()
        res_dict["mismatches"] = dest.verify_chunk(phase.name, rows.get(phase.name, []), crosswalk, migration_id)
        results[phase.name] = res_dict
    return results


_records_cache: dict[int, dict] = {}


@pytest.fixture
def world(tmp_path, fake_intercom):
    fake_intercom.contacts["9"] = {"id": "9", "email": "dan@existing.example", "external_id": None, "companies": []}
    return fake_intercom, LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite")


def test_a_clean_run_loads_in_order_and_verifies(world):
    fake, stage, cw = world
    results = migrate(fake, stage, cw)
    assert all(not r["mismatches"] for r in results.values()), {k: r["mismatches"] for k, r in results.items()}
    assert results["admins"]["counts"] == {"matched": 1, "held": 1}
    assert results["teams"]["counts"] == {"matched": 1, "held": 1}
    assert results["contacts"]["counts"] == {"created": 2, "matched": 1}  # dan existed: 409 -> linked
    assert fake.contacts["9"].get("external_id") is None, "a contact that existed before is never changed"
    assert len(fake.tickets) == 3
    by_number = {t["ticket_attributes"]["Original ticket number"]: t for t in fake.tickets.values()}
    t1 = by_number["1001"]
    assert t1["ticket_attributes"]["Overdue"] is True and t1["ticket_attributes"]["Due at"] == 1672740000
    assert t1["assignment"] == {"admin_assignee_id": "2", "team_assignee_id": "77"}
    assert [fake.tags_[n]["id"] for n in ("hardware",)] == t1["tags"], "the category is a tag on its ticket"
    assert by_number["1002"]["assignment"] == {"admin_assignee_id": "1"}  # unmatched agent -> default admin
    assert by_number["1002"]["state"] == "s-resolved" and t1["state"] == "s-in_progress"
    kinds = [(p["part_type"], p["author"]["type"], len(p["attachments"])) for p in t1["parts"]]
    # the customer's file cannot ride on a contact reply: an internal note right after it carries it
    assert kinds == [("comment", "user", 0), ("note", "admin", 1), ("comment", "admin", 1), ("note", "admin", 0)]
    assert [p["created_at"] for p in t1["parts"]] == sorted(p["created_at"] for p in t1["parts"])
    assert "rude" in t1["parts"][3]["body"]
    t2 = by_number["1002"]["parts"]
    assert [p["part_type"] for p in t2] == ["comment", "comment", "note"]
    assert "Originally written by agent:2" in t2[1]["body"]  # the fallback author is named, flagged
    assert any(f["code"] == "author_fallback" for f in results["parts"]["flags"])
    att = results["attachments"]
    assert att["counts"] == {"created": 2, "held": 1}, att
    assert any("over the" in r["message"] for r in att["rejected"])
    contacts_flags = {f["code"] for f in results["contacts"]["flags"]}
    assert {"contact_without_email", "contact_exists"} <= contacts_flags


@pytest.mark.parametrize("kill", [("company", 1), ("contact", 2), ("ticket", 1), ("ticket", 3), ("reply", 1),
                                  ("reply", 2), ("reply", 5), ("reply", 8)])
def test_a_killed_run_re_run_ends_like_a_clean_run(tmp_path, fake_intercom, kill):
    clean = FakeIntercom(fake_intercom.admins_, fake_intercom.teams_)
    for f in (clean, fake_intercom):
        f.contacts["9"] = {"id": "9", "email": "dan@existing.example", "external_id": None, "companies": []}
    migrate(clean, LocalStage(tmp_path / "clean"), SqliteCrosswalk(tmp_path / "clean.sqlite"))

    stage, cw = LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite")
    fake_intercom.kill_at = kill
    with pytest.raises(Killed):
        migrate(fake_intercom, stage, cw, run_id="r1")
    results = migrate(fake_intercom, stage, cw, run_id="r2")
    assert fake_intercom.state() == clean.state()
    assert not [e for e in cw.iter_migration("m1") if e.state == State.PENDING]
    assert all(not r["mismatches"] for r in results.values())


def test_a_second_run_sends_nothing_again(world):
    fake, stage, cw = world
    migrate(fake, stage, cw)
    before, calls = fake.state(), dict(fake.calls.by)
    migrate(fake, stage, cw, run_id="r2")
    assert fake.state() == before
    writes = {"create_ticket", "reply", "create_contact", "upsert_company"}
    assert {k: fake.calls.by.get(k, 0) - calls.get(k, 0) for k in writes} == dict.fromkeys(writes, 0)


@pytest.mark.parametrize("lost", [("ticket", 2), ("reply", 3), ("contact", 1)])
def test_a_write_whose_answer_was_lost_is_found_not_sent_twice(tmp_path, fake_intercom, lost):
    clean = FakeIntercom(fake_intercom.admins_, fake_intercom.teams_)
    for f in (clean, fake_intercom):
        f.contacts["9"] = {"id": "9", "email": "dan@existing.example", "external_id": None, "companies": []}
    migrate(clean, LocalStage(tmp_path / "clean"), SqliteCrosswalk(tmp_path / "clean.sqlite"))
    fake_intercom.lost_answer_at = lost  # the write happened, the answer was a 503: one run still ends clean
    migrate(fake_intercom, LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite"))
    assert fake_intercom.lost_answer_at is None
    assert fake_intercom.state() == clean.state()


def test_a_quota_stop_is_the_generic_one_and_the_next_run_resumes(tmp_path, fake_intercom):
    """The API's QuotaExhausted (the kit's, raised past the wait the limiter allows) reaches the engines as the
    generic connector_errors.QuotaExhausted they checkpoint on; the next run ends like a clean run."""
    from hdm import connector_errors
    from hdm.http import QuotaExhausted

    clean = FakeIntercom(fake_intercom.admins_, fake_intercom.teams_)
    migrate(clean, LocalStage(tmp_path / "clean"), SqliteCrosswalk(tmp_path / "clean.sqlite"))
    stage, cw = LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite")
    fake_intercom.kill_at, fake_intercom.kill_with = ("reply", 4), QuotaExhausted
    with pytest.raises(connector_errors.QuotaExhausted):
        migrate(fake_intercom, stage, cw, run_id="r1")
    migrate(fake_intercom, stage, cw, run_id="r2")
    assert fake_intercom.state() == clean.state()


def test_the_limiter_takes_the_configured_share_of_the_quota():
    from hdm.destinations.intercom.api import IntercomApi

    api = IntercomApi("https://127.0.0.1:1", lambda: "t", per_minute=10_000, share=0.5)
    assert api.limiter.snapshot()["interval_seconds"] == pytest.approx(60 / 5_000)
    api.limiter.observe({"X-RateLimit-Limit": "1667", "X-RateLimit-Remaining": "1500", "X-RateLimit-Reset": "1"})
    assert api.limiter.snapshot()["server_limit"] == 1667
    assert api.http.headers["Intercom-Version"] == "2.16"


def test_without_private_notes_internal_notes_are_held_never_replies(world):
    fake, stage, cw = world
    fake.private_notes = False
    results = migrate(fake, stage, cw)
    parts = [p for t in fake.tickets.values() for p in t["parts"]]
    assert parts and all(p["part_type"] == "comment" for p in parts)
    assert not any("rude" in p["body"] or "refunded" in p["body"] for p in parts), "no internal text went out"
    held = [r for r in results["parts"]["rejected"] if r["error_code"] == "PRIVATE_NOTES_UNAVAILABLE"]
    assert {r["source_key"] for r in held} == {"message:3", "message:6"}


def test_verification_sees_a_note_turned_reply_a_wrong_author_and_parts_out_of_order(world):
    fake, stage, cw = world
    migrate(fake, stage, cw)
    dest = IntercomDestination(lambda: fake, options={"stage": stage, "legacy_namespace": "m1"})
    rows = dest.transform("message", _records_cache[id(stage)]["message"])["parts"]
    assert dest.verify_chunk("parts", rows, cw, "m1") == []
    t1 = next(t for t in fake.tickets.values() if t["ticket_attributes"]["Original ticket number"] == "1001")
    t1["parts"][3]["part_type"] = "comment"  # the internal note, now public
    t1["parts"][2]["author"] = {"type": "admin", "id": "1"}  # another admin
    t2 = next(t for t in fake.tickets.values() if t["ticket_attributes"]["Original ticket number"] == "1002")
    t2["parts"][0], t2["parts"][1] = t2["parts"][1], t2["parts"][0]
    found = {(m["source_key"], m["field"]) for m in dest.verify_chunk("parts", rows, cw, "m1")}
    assert {("message:3", "part_type"), ("message:2", "author.id")} <= found
    assert any(f == "order" for _, f in found)


def test_a_fresh_state_folder_adopts_what_is_there_instead_of_duplicating(world, tmp_path):
    fake, stage, cw = world
    migrate(fake, stage, cw)
    before, calls = fake.state(), dict(fake.calls.by)
    results = migrate(fake, stage, SqliteCrosswalk(tmp_path / "fresh.sqlite"), run_id="r2")
    assert fake.state() == before
    assert fake.calls.by.get("create_ticket", 0) == calls.get("create_ticket", 0)
    assert fake.calls.by.get("reply", 0) == calls.get("reply", 0)
    assert all(not r["mismatches"] for r in results.values())


def test_rollback_without_the_crosswalk_finds_this_migrations_records_by_legacy_id(world, tmp_path):
    """A lost state folder: the sweep finds tickets, contacts and companies by this migration's legacy ids and
    deletes them; what existed before (dan) and another migration's records stay."""
    fake, stage, cw = world
    migrate(fake, stage, cw)
    other = LocalStage(tmp_path / "other")
    migrate(fake, other, SqliteCrosswalk(tmp_path / "other.sqlite"), migration_id="m2")
    assert len(fake.tickets) == 6
    dest = IntercomDestination(lambda: fake, options={"stage": stage, "legacy_namespace": "m1"})
    assert dest.rollback_proof([])["remaining_by_legacy_id"] == {"ticket": 3, "contact": 2, "company": 1}
    assert dest.rollback_sweep() == {"ticket": 3, "contact": 2, "company": 1}
    proof = dest.rollback_proof([])
    assert proof["remaining"] == 0 and proof["not_deletable"]
    assert len(fake.tickets) == 3 and "9" in fake.contacts
    assert all(str(c.get("external_id") or "").startswith("hdm:m2:") or c["id"] == "9"
               for c in fake.contacts.values())


def test_a_delta_run_updates_a_changed_ticket_in_place(world):
    fake, stage, cw = world
    migrate(fake, stage, cw)
    _records_cache[id(stage)]["ticket"][0].subject = "Printer on fire (again)"
    results = migrate(fake, stage, cw, run_id="r2")
    assert results["tickets"]["counts"] == {"updated": 1, "unchanged": 2}
    assert len(fake.tickets) == 3
    assert "Printer on fire (again)" in {t["ticket_attributes"]["_default_title_"] for t in fake.tickets.values()}


def test_a_refused_token_is_the_generic_destination_failure(world):
    from hdm import connector_errors
    from hdm.http import AuthFailed

    fake, stage, cw = world

    def refused():
        raise AuthFailed("not authorised", family="GET /admins", status=401, vendor_message="Access Token Invalid")

    fake.admins = refused
    with pytest.raises(connector_errors.DestinationFailure, match="Intercom: not authorised"):
        migrate(fake, stage, cw)
