"""The databases the real osTicket application wrote (tests/fixtures/osticket_real, 1.16 and 1.18) migrate on BOTH
engines -- the local engine and the committed state machine executed by moto with the handlers in-process -- into
the Salesforce emulator, and every ticket's entries arrive: exact count, order (by the header's original time and
entry), visibility (IsPublished false for internal and system notes), author and title in the header, and text as
osTicket's own staff page shows it. No record is rejected over a field value, the two engines leave the same org,
and each rolls back what it created (issue #9, "Done when").

Each run prints one line of figures per fixture and engine (``-s`` shows them): tickets, entries, comments loaded,
files, collaborators, events, rejected, flagged by code, exit status and the rollback verdict.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

import pytest
from hdm.destinations.salesforce.comment_body import display_title
from hdm.engines.local import LocalEngine
from hdm.pipeline.report import exit_status
from hdm.sources.osticket import OsTicketSource
from hdm.sources.osticket.rendered import split_rendered
from hdm_infra.rehearsal import DEFAULT_OWNER, agent_emails, destination_users, migration_config, prepare_org
from hdm_infra.testing.aws import migration_config as aws_migration_config
from hdm_infra.testing.aws import store_secret
from hdm_infra.testing.osticket_real import recorded_versions, recording_dir
from hdm_infra.testing.threads import comparable
from test_parity import destination_state  # same folder: the parity test's id-free view of the org

pytestmark = pytest.mark.timeout(900)

RENDER_VERSION = {"1.16": "1.16.4", "1.18": "1.18"}
HEADER = re.compile(r"^\[(?P<label>[^\]]+)\] (?P<who>.*?) · (?P<when>\S+ \S+ UTC|\(time unknown\))"
                    r"(?: · Title: (?P<title>.*))? · ref (?P<ref>message:(?P<entry>\d+)(?:#(?P<part>\d+))?)"
                    r"(?: \(part (?P<i>\d+)/(?P<n>\d+)\))?$")


class _Blobs:
    def put_blob(self, chunks):
        return "blobs/x", "0" * 64, sum(len(c) for c in chunks)


def _expected(db, version: str):
    """Every entry the extractor reads, per ticket (tickets and the task), and the staff page's text per entry."""
    params = {"host": db.host, "port": db.port, "user": db.user, "password": db.password, "database": db.database}
    records: dict[str, list] = defaultdict(list)
    with OsTicketSource(params) as src:
        src.discover()
        for chunk in src.plan(25):
            records[chunk.object_type].extend(src.extract(chunk, _Blobs()))
    entries: dict[str, list] = defaultdict(list)
    for m in records["message"]:
        entries[m.ticket].append(m)
    page_text: dict[int, str] = {}
    pages = recording_dir(version) / "pages"
    for t in records["ticket"]:
        if t.kind != "ticket":
            continue
        page = split_rendered((pages / f"{t.number}.staff.html").read_text(), "staff", RENDER_VERSION[version],
                              ticket=t.key)
        for s in page.segments:
            seen = comparable(s.message, [])
            page_text[int(s.entry_id)] = "" if seen["empty"] else " ".join(seen["text"].split())
    tickets = {t.key for t in records["ticket"]}
    return tickets, {k: sorted(v, key=lambda m: m.position) for k, v in entries.items()}, page_text


def _check_org(sf, tickets, entries, page_text) -> dict[str, int]:
    """Every ticket's entries in the org, as comments: count, order, visibility, author, title, text."""
    cases = {r["Id"][:15]: r["hdm_Legacy_Id__c"].split("/", 1)[1]
             for r in sf.query_all("SELECT Id, hdm_Legacy_Id__c FROM Case")["records"]}
    assert set(cases.values()) == tickets, "every ticket (and the task) is a Case"
    comments: dict[str, list] = defaultdict(list)
    for r in sf.query_all("SELECT Id, ParentId, IsPublished, CommentBody FROM CaseComment")["records"]:
        first, _, rest = r["CommentBody"].partition("\n")
        h = HEADER.match(first)
        assert h, first
        comments[cases[r["ParentId"][:15]]].append((h, r["IsPublished"], rest))
    checked = {"entries": 0, "texts": 0, "titles": 0}
    for ticket in sorted(tickets):
        want = entries.get(ticket, [])
        got = sorted(comments.get(ticket, []), key=lambda c: (c[0]["when"], int(c[0]["entry"]), int(c[0]["part"] or 0)))
        by_entry: dict[int, list] = defaultdict(list)
        for c in got:
            by_entry[int(c[0]["entry"])].append(c)
        order = list(dict.fromkeys(int(c[0]["entry"]) for c in got))
        assert order == [int(m.provenance.id) for m in want], ticket  # count and order
        for m in want:
            parts = by_entry[int(m.provenance.id)]
            h, published, _ = parts[0]
            internal = m.visibility.value != "public" or m.kind.value == "system"
            assert published is not internal, (ticket, m.key)
            assert ("note" in h["label"]) is internal, (ticket, m.key)
            assert h["when"] == m.created_at.replace("T", " ").rstrip("Z").split(".")[0] + " UTC", (ticket, m.key)
            author = m.author_name if published or not m.author_email else f"{m.author_name} <{m.author_email}>"
            assert h["who"] == author, (ticket, m.key)
            assert (h["title"] or "") == display_title(m.title), (ticket, m.key)
            checked["titles"] += bool(m.title)
            text = " ".join("".join(p[2] for p in parts).split())
            shown = page_text.get(int(m.provenance.id))
            if shown:  # the task's thread has no staff page; an empty body has nothing to compare
                assert text == shown or (shown.startswith(text[:200]) and "file" in text.lower()), (ticket, m.key)
                checked["texts"] += 1
            checked["entries"] += 1
    return checked


def _figures(report: dict, engine: str, version: str, entries: int, exit_code: int, restored: bool) -> dict:
    phases = {p["phase"]: p for p in report["phases"]}

    def loaded(phase: str) -> int:
        p = phases.get(phase) or {}
        return sum(p.get(k, 0) for k in ("created", "matched", "merged"))

    flagged: Counter = Counter()
    for p in report["phases"]:
        flagged.update(p.get("flag_counts") or {})
    return {"fixture": version, "engine": engine, "tickets": phases["cases"]["source"],
            "entries": entries,
            "comments": loaded("comments"), "files": loaded("files"), "collaborators": loaded("case_contacts"),
            "events": loaded("case_events"), "rejected": sum(p.get("rejected", 0) for p in report["phases"]),
            "held": sum(p.get("held", 0) for p in report["phases"]),
            "flagged": dict(sorted(flagged.items())), "attention": report.get("attention"), "exit": exit_code,
            "rollback_restored": restored}


def _no_value_rejections(report: dict) -> None:
    for p in report["phases"]:
        assert p.get("rejected", 0) == 0, (p["phase"], p.get("rejections"))
        # held: only the recording's agents, who have no User in the org (a migration never creates Users; their
        # Cases go to the default owner) -- not a field value
        assert p.get("held", 0) == (p.get("flag_counts") or {}).get("unmatched_agent", 0), p["phase"]
        assert p["phase"] == "users" or not p.get("held"), p["phase"]


@pytest.mark.parametrize("version", recorded_versions())
def test_real_recordings_arrive_exactly_on_both_engines(version, osticket_real_db, mariadb, sfemu, sam_stack,
                                                        tmp_path):
    db = osticket_real_db(version)
    tickets, entries, page_text = _expected(db, version)
    with mariadb.connect(database=db.database) as conn:
        emails = agent_emails(conn, db.prefix)
    # the help desk's agents exist in the org (as at a real customer), so their entries and Cases keep their owner
    users = destination_users(emails) + [{"Username": f"{e.split('@')[0]}@org.example", "Email": e,
                                          "FirstName": "Agent", "LastName": e.split("@")[0]} for e in sorted(emails)]
    assert len(users) == 1 + len(emails) >= 2
    mid = f"real-both-{version.replace('.', '-')}"
    figures = []

    # -- the local engine ------------------------------------------------------------------------
    prepare_org(sfemu.running, users)
    engine = LocalEngine(migration_config(mid, db, sfemu.running, tmp_path / "secrets"), workdir=tmp_path / "local",
                         progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    local_report = outcome.report
    _no_value_rejections(local_report)
    local_checked = _check_org(sfemu.connect(), tickets, entries, page_text)
    local_state = destination_state(sfemu.connect())
    rolled = engine.rollback()
    assert rolled["restored"], rolled
    assert sfemu.admin.counts().get("CaseComment", 0) == 0
    n_entries = sum(len(v) for v in entries.values())
    figures.append(_figures(local_report, "local", version, n_entries, exit_status("succeeded", local_report,
                                                                       outcome.run_id), rolled["restored"]))

    # -- the committed state machine on moto -----------------------------------------------------
    prepare_org(sfemu.running, users)
    config = aws_migration_config(mid, db, sfemu.running,
                                  lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v),
                                  destination={"default_owner_email": DEFAULT_OWNER["Email"],
                                               "unmatched_agent_policy": "default_owner"},
                                  require_approval=False)
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:{mid}"
    done = sam_stack.wait(arn, timeout=600)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", f"/migrations/{mid}")[1]
    from hdm.engines import aws

    aws_report = aws.stage_for(mid).get_json("reports/reconciliation.json")
    _no_value_rejections(aws_report)
    aws_checked = _check_org(sfemu.connect(), tickets, entries, page_text)
    aws_state = destination_state(sfemu.connect())

    # -- the same org, the same checks --------------------------------------------------------------
    assert aws_checked == local_checked
    assert local_checked["entries"] == sum(len(v) for v in entries.values())
    assert local_checked["texts"] >= 20 and local_checked["titles"] >= 5
    assert aws_state.keys() == local_state.keys()
    for obj in local_state:
        assert aws_state[obj] == local_state[obj], f"{obj} differs between the engines"

    assert sam_stack.api("POST", f"/migrations/{mid}/rollback", {})[0] == 202
    info = sam_stack.api("GET", f"/migrations/{mid}")[1]
    assert sam_stack.wait(info["rollback_execution_arn"], timeout=300)["status"] == "SUCCEEDED"
    info = sam_stack.api("GET", f"/migrations/{mid}")[1]
    restored = bool((info["progress"].get("rollback") or {}).get("restored"))
    assert restored and sfemu.admin.counts().get("CaseComment", 0) == 0
    figures.append(_figures(aws_report, "aws", version, n_entries, exit_status("succeeded", aws_report), restored))
    assert {k: v for k, v in figures[0].items() if k != "engine"} == {k: v for k, v in figures[1].items()
                                                                      if k != "engine"}
    assert figures[0]["exit"] == 0 and figures[0]["attention"] == {}  # clean: nothing rejected, held or changed
    for p in local_report["phases"]:
        for f in p.get("flags") or []:
            if f.get("severity") != "info":
                print("FLAG", version, p["phase"], f.get("code"), f.get("field"), f.get("reason"))
    for f in figures:
        print("FIGURES", json.dumps(f, sort_keys=True))
