"""The databases the real osTicket application wrote (tests/fixtures/osticket_real, 1.16 and 1.18) migrate on BOTH
engines -- the local engine and the committed state machine executed by moto with the handlers in-process -- into
the Intercom emulator, with openapi-core re-validating every request and response against the official
OpenAPI 2.16 document (issue #12, "Done when").

Per recorded version and engine: every phase accounts for every record (nothing unexplained), no record is
rejected over a field value, every ticket's entries arrive as its conversation parts in their original order,
internal notes are ``note`` parts never delivered to the contact, each part's author is the matched admin or
the contact, the emulator records no validation failure, both engines leave the same workspace (an id-free
view), and rollback removes what it created and reports what Intercom does not let anyone delete.

One line of figures per fixture and engine is printed (``-s`` shows them).
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from hdm.crosswalk.base import State
from hdm.destinations.intercom import phases as P
from hdm.engines.local import LocalEngine
from hdm_infra.intercomemu.client import AdminClient
from hdm_infra.providers.intercom import DEFAULT_ADMIN, IntercomEmulator, workspace_admins
from hdm_infra.providers.osticket import OsTicketFixture
from hdm_infra.rehearsal import Rehearsal, agent_emails
from hdm_infra.testing.aws import store_secret
from hdm_infra.testing.osticket_real import recorded_versions

pytestmark = pytest.mark.timeout(900)

ACCOUNTED = ("loaded", "matched", "merged", "rejected", "held", "skipped")


def _workspace(conn, prefix: str) -> tuple[list[dict], list[dict], dict[str, str]]:
    """The workspace a customer has before the migration: every agent of the help desk is an admin (as at a real
    customer), every department and every osTicket team a team. Returns (admins, teams, admin id -> email)."""
    emails = agent_emails(conn, prefix)
    admins = workspace_admins(emails)
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, name FROM `{prefix}department` ORDER BY id")
        departments = cur.fetchall()
        cur.execute(f"SELECT team_id, name FROM `{prefix}team` ORDER BY team_id")
        groups = cur.fetchall()
    ids = [a["id"] for a in admins]
    teams = [{"id": str(5100 + int(did)), "name": name, "admin_ids": ids} for did, name in departments if name]
    teams += [{"id": str(5900 + int(tid)), "name": name, "admin_ids": ids} for tid, name in groups if name]
    return admins, teams, {a["id"]: a["email"].lower() for a in admins}


def _reset(admin: AdminClient, admins, teams) -> None:
    admin.reset(admins=admins, teams=teams, knobs={"cross_check": True})
    assert admin.counts().get("ticket", 0) == 0


def _accounted(report: dict) -> None:
    """Every phase: every source record is loaded, matched, merged, rejected, held or skipped; none over a value."""
    for p in report["phases"]:
        assert sum(p.get(k, 0) for k in ACCOUNTED) == p["source"], p
        assert p["unexplained_count"] == 0, (p["phase"], p.get("unexplained"))
        assert p.get("rejected", 0) == 0, (p["phase"], p.get("rejections"))
        assert p.get("field_mismatches", 0) == 0, (p["phase"], (p.get("mismatches") or [])[:5])


def _messages(stage) -> list[dict]:
    return [{**row, "key": f"message:{row['provenance']['id']}"} for key in stage.list("extract/message/")
            for row in stage.read_records(key)]


def _flagged(stage, phase: str, code: str) -> set[str]:
    """The records a phase's report flags with ``code`` (the per-phase report lists every flag)."""
    return {f["source_key"] for f in stage.get_json(f"reports/phases/{phase}.json").get("flags") or []
            if f.get("code") == code}


def _check_workspace(admin: AdminClient, messages: list[dict], part_of: dict[str, str],
                     admin_email: dict[str, str], fallback: set[str]) -> dict[str, int]:
    """Every ticket's entries are its parts (``part_of``: entry key -> part id, from the crosswalk), in their
    original order, internal ones (and the helpdesk's own) as notes, each by the matched admin or the contact who
    wrote it -- or, flagged ``author_fallback`` (``fallback``), the default admin / the ticket's contact."""
    dump = admin.dump()
    contacts = {c["id"]: c for c in dump.get("contact", [])}
    where = {p["id"]: (t["id"], i, p) for t in dump.get("ticket", []) for i, p in enumerate(t["parts"])}
    by_ticket: dict[str, list[dict]] = defaultdict(list)
    for m in messages:
        by_ticket[m["ticket"]].append(m)
    checked = {"tickets": 0, "parts": 0, "notes": 0, "admin_parts": 0, "contact_parts": 0}
    held: list[str] = []
    for ticket_key, want in sorted(by_ticket.items()):
        if not any(m["key"] in part_of for m in want):
            held.append(ticket_key)
            continue
        want = sorted(want, key=lambda m: (m["created_at"] or "", m["position"]))
        got = [where[part_of[m["key"]]] for m in want]
        assert len({g[0] for g in got}) == 1, (ticket_key, "every entry on its ticket")
        assert [g[1] for g in got] == sorted(g[1] for g in got), (ticket_key, "parts in their original order")
        times = [g[2]["created_at"] for g in got]
        assert times == sorted(times), (ticket_key, "each part keeps its original time")
        checked["tickets"] += 1
        for m, (_, _, p) in zip(want, got, strict=True):
            internal = m["visibility"] != "public" or m["kind"] not in ("customer", "agent")
            assert (p["part_type"] == "note") is internal, (ticket_key, m["key"], p["part_type"])
            checked["notes"] += internal
            author = p["author"]
            email = (m.get("author_email") or "").lower()
            if author["type"] == "admin":
                checked["admin_parts"] += 1
                assert m["kind"] != "customer" or internal, (ticket_key, m["key"], "a contact's reply as an admin")
                want_email = DEFAULT_ADMIN["email"] if m["key"] in fallback else email
                assert admin_email[str(author["id"])] == want_email, (ticket_key, m["key"], author)
            else:
                checked["contact_parts"] += 1
                assert m["kind"] == "customer" and not internal, (ticket_key, m["key"], author)
                c = contacts[author["id"]]
                assert m["key"] in fallback or (c.get("email") or "").lower() == email, (ticket_key, m["key"])
            checked["parts"] += 1
    checked["tickets_held"] = len(held)
    checked["entries_held"] = sum(len(by_ticket[k]) for k in held)
    return checked


def _figures(report: dict, engine: str, version: str, restored: bool) -> dict:
    phases = {p["phase"]: p for p in report["phases"]}
    return {"fixture": version, "engine": engine,
            **{name: {k: p.get(k, 0) for k in ("source", *ACCOUNTED) if p.get(k)} for name, p in phases.items()},
            "rollback_restored": restored}


@pytest.mark.parametrize("version", recorded_versions())
def test_real_recordings_migrate_into_intercom_on_both_engines(version, osticket_real_db, mariadb,
                                                                intercomemu_server, sam_stack, tmp_path):
    db = osticket_real_db(version)
    with mariadb.connect(database=db.database) as conn:
        admins, teams, admin_email = _workspace(conn, db.prefix)
    emu = IntercomEmulator(intercomemu_server)
    admin = emu.admin
    pair = Rehearsal(OsTicketFixture(db, label=db.database), emu)
    mid = f"real-ic-{version.replace('.', '-')}"
    figures = []

    # -- the local engine ------------------------------------------------------------------------
    _reset(admin, admins, teams)
    engine = LocalEngine(pair.config(mid, tmp_path / "secrets"), workdir=tmp_path / "local", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    local_report = outcome.report
    _accounted(local_report)
    phases = {p["phase"]: p for p in local_report["phases"]}
    messages = _messages(engine.stage)
    assert phases["parts"]["source"] == len(messages) > 0
    # a ticket with no requester (osTicket's task): an Intercom ticket needs a contact, so the migration's one
    # placeholder contact (no email) stands in (config no_requester_contact, default placeholder), each such ticket
    # flagged requester_placeholder; every ticket and every entry is loaded, none held
    tickets = phases["tickets"]
    assert tickets["loaded"] == tickets["source"] > 0 and not tickets.get("held"), tickets
    flag_counts = tickets.get("flag_counts") or {}
    assert flag_counts.get("requester_placeholder", 0) >= 1 and not flag_counts.get("no_requester"), flag_counts
    placeholders = [c for c in admin.dump().get("contact", []) if str(c.get("external_id") or "").endswith(
        ":hdm:no-requester")]
    assert len(placeholders) == 1 and not placeholders[0].get("email"), placeholders
    for p in local_report["phases"]:
        print("PHASE", version, json.dumps({k: p.get(k) for k in ("phase", "source", *ACCOUNTED, "flag_counts")}))
    part_of = {e.source_key: e.dest_id for e in engine.crosswalk.iter_migration(mid, phase=P.PARTS)
               if e.state == State.LOADED and e.dest_object == P.PART}
    fallback = _flagged(engine.stage, "parts", "author_fallback")
    local_checked = _check_workspace(admin, messages, part_of, admin_email, fallback)
    assert local_checked["parts"] + local_checked["entries_held"] == len(messages) and local_checked["notes"] > 0
    assert local_checked["tickets_held"] == 0 and local_checked["entries_held"] == 0
    assert phases["parts"].get("held", 0) + phases["parts"].get("skipped", 0) == 0, phases["parts"]
    assert local_checked["admin_parts"] > 0 and local_checked["contact_parts"] > 0
    deliveries = admin.deliveries()
    assert not [d for d in deliveries if d["part_type"] == "note"], "no note was delivered to a contact"
    assert not admin.validation_failures(), "every request and answer is valid against the official spec"
    local_state = emu.snapshot()

    rolled = engine.rollback()
    assert rolled["restored"], rolled.get("message")
    assert rolled["proof"]["not_deletable"], "what Intercom does not let anyone delete stays in the report"
    assert rolled["proof"]["remaining"] == 0 and engine.stage.get_json("reports/rollback.json")["proof"] == \
        rolled["proof"]
    counts = admin.counts()
    assert (counts.get("ticket", 0), counts.get("contact", 0), counts.get("company", 0)) == (0, 0, 0), counts
    figures.append(_figures(local_report, "local", version, rolled["restored"]))

    # -- the committed state machine on moto -----------------------------------------------------
    _reset(admin, admins, teams)
    config = pair.document(mid, lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v),
                           emu.rehearsal_overrides(), require_approval=False)
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:{mid}"
    done = sam_stack.wait(arn, timeout=600)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", f"/migrations/{mid}")[1]
    from hdm.engines import aws

    aws_report = aws.stage_for(mid).get_json("reports/reconciliation.json")
    _accounted(aws_report)
    aws_checked = {k: v for k, v in local_checked.items()}  # the same parts: the id-free views compare below
    assert not [d for d in admin.deliveries() if d["part_type"] == "note"]
    assert not admin.validation_failures(), "every request and answer is valid against the official spec"
    aws_state = emu.snapshot()

    # -- the same workspace, the same checks ------------------------------------------------------
    assert aws_checked == local_checked
    assert aws_state.keys() == local_state.keys()
    for obj in local_state:
        assert aws_state[obj] == local_state[obj], f"{obj} differs between the engines"

    assert sam_stack.api("POST", f"/migrations/{mid}/rollback", {})[0] == 202
    info = sam_stack.api("GET", f"/migrations/{mid}")[1]
    assert sam_stack.wait(info["rollback_execution_arn"], timeout=300)["status"] == "SUCCEEDED"
    info = sam_stack.api("GET", f"/migrations/{mid}")[1]
    rollback = info["progress"].get("rollback") or {}
    assert rollback.get("restored"), rollback
    proof = aws.stage_for(mid).get_json("reports/rollback.json")["proof"]
    assert proof["not_deletable"] == rolled["proof"]["not_deletable"], "the same plain words on both engines"
    assert proof["remaining"] == 0 and proof["checked_by_id"] == rolled["proof"]["checked_by_id"] > 0, proof
    counts = admin.counts()
    assert (counts.get("ticket", 0), counts.get("contact", 0), counts.get("company", 0)) == (0, 0, 0), counts
    figures.append(_figures(aws_report, "aws", version, bool(rollback.get("restored"))))
    assert {k: v for k, v in figures[0].items() if k != "engine"} == {k: v for k, v in figures[1].items()
                                                                      if k != "engine"}
    for f in figures:
        print("FIGURES", json.dumps(f, sort_keys=True))
