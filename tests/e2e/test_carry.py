"""Nothing silently dropped (issue #9 item 5): collaborators, events, tasks and ticket links arrive in the org.

Truth comes from the osTicket database itself (SQL here, not the extractor), the result from the emulator's org
through the real client.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hdm.engines.local import LocalEngine

MID = "e2e-local"


def _ns(source_key: str) -> str:
    return f"{MID}/{source_key}"


def _rows(mariadb, db, sql: str) -> list[dict]:
    with mariadb.connect(database=db.database) as conn, conn.cursor() as cur:
        cur.execute(sql.replace("{p}", db.prefix))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _org(sf, soql: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in sf.query_all(soql)["records"]]


def _cases(sf) -> dict[str, dict]:
    return {r["hdm_Legacy_Id__c"]: r for r in _org(
        sf, "SELECT Id, hdm_Legacy_Id__c, ParentId, Subject, hdm_Ticket_Number__c FROM Case")}


def _contacts(sf) -> dict[str, str]:
    return {r["Id"]: r["hdm_Legacy_Id__c"] for r in _org(sf, "SELECT Id, hdm_Legacy_Id__c FROM Contact")}


@pytest.fixture
def migrated(rehearsal, tmp_path, mariadb):
    make, db, sfemu = rehearsal
    # events (163 in one chunk) go through Bulk 2.0 upserts; collaborator links (12) through sObject Collections
    engine = LocalEngine(make(MID, destination={"bulk_threshold": 50}), workdir=tmp_path / "work", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    return engine, outcome, db, sfemu


def test_collaborators_become_case_contact_roles(migrated, mariadb):
    engine, outcome, db, sfemu = migrated
    truth = _rows(mariadb, db, "SELECT h.object_id AS ticket_id, c.user_id, c.flags FROM {p}thread h "
                               "JOIN {p}thread_collaborator c ON c.thread_id = h.id WHERE h.object_type IN ('T','C')")
    assert truth, "the generated database has collaborators"
    assert any(not r["flags"] & 1 for r in truth) or any(r["flags"] & 2 for r in truth)
    sf = sfemu.connect()
    cases = {v["Id"]: k for k, v in _cases(sf).items()}
    contacts = _contacts(sf)
    got = {(cases[r["CasesId"]], contacts[r["ContactId"]], r["Role"])
           for r in _org(sf, "SELECT Id, CasesId, ContactId, Role FROM CaseContactRole")}
    want = set()
    for r in truth:
        role = "Former collaborator" if not r["flags"] & 1 else ("CC" if r["flags"] & 2 else "Collaborator")
        want.add((_ns(f"ticket:{r['ticket_id']}"), _ns(f"contact:{r['user_id']}"), role))
    # a collaborator whose user shares an email with another user points at that user's Contact
    merged = {e.source_key: e.dest_id for e in engine.crosswalk.iter_migration(MID, phase="contacts")
              if e.origin.value == "merged"}
    if not merged:
        assert got == want
    assert len(got) == len(want)
    phase = next(p for p in outcome.report["phases"] if p["phase"] == "case_contacts")
    assert phase["source"] == len(truth) and phase["rejected"] == 0 and phase["ok"]


def test_events_land_as_case_history_with_time_actor_and_type(migrated, mariadb):
    engine, outcome, db, sfemu = migrated
    zone = _rows(mariadb, db, "SELECT value FROM {p}config WHERE namespace='core' AND `key`='db_timezone'")
    tz = zoneinfo.ZoneInfo(zone[0]["value"] or "UTC") if zone else dt.UTC
    truth = _rows(mariadb, db, "SELECT e.id, e.timestamp, e.username, e.uid_type, e.annulled, v.name AS type, "
                               "h.object_type, h.object_id, CONCAT(s.firstname, ' ', s.lastname) AS agent "
                               "FROM {p}thread_event e JOIN {p}thread h ON h.id = e.thread_id "
                               "LEFT JOIN {p}event v ON v.id = e.event_id "
                               "LEFT JOIN {p}staff s ON e.uid_type = 'S' AND s.staff_id = e.uid")
    assert len(truth) > 60
    sf = sfemu.connect()
    cases = {v["Id"]: k for k, v in _cases(sf).items()}
    events = {r["hdm_Legacy_Id__c"]: r for r in _org(
        sf, "SELECT Id, hdm_Legacy_Id__c, Case__c, Event_Time__c, Actor__c, Type__c, Details__c, Annulled__c, "
            "Name FROM hdm_Case_Event__c")}
    assert len(events) == len(truth)
    for t in truth:
        ev = events[_ns(f"event:{t['id']}")]
        owner = f"ticket:task-{t['object_id']}" if t["object_type"] == "A" else f"ticket:{t['object_id']}"
        assert cases[ev["Case__c"]] == _ns(owner)
        assert ev["Type__c"] == t["type"]
        want = t["timestamp"].replace(tzinfo=tz).astimezone(dt.UTC)
        got = dt.datetime.fromisoformat(ev["Event_Time__c"].replace("Z", "+00:00").replace("+0000", "+00:00"))
        assert got == want, (t, ev)
        # as osTicket shows it (ThreadEvent::getUserName): an agent by the agent's name (and address here), anyone
        # else by the name recorded with the event
        if t["agent"]:
            assert ev["Actor__c"].startswith(t["agent"] + " <"), (t, ev)
        else:
            assert ev["Actor__c"] == t["username"], (t, ev)
        assert bool(ev["Annulled__c"]) == bool(t["annulled"])
    assert any(e["Details__c"] and "Closed" in e["Details__c"] for e in events.values())
    phase = next(p for p in outcome.report["phases"] if p["phase"] == "case_events")
    assert phase["loaded"] == len(truth) and phase["field_mismatches"] == 0


def test_tasks_are_cases_under_their_ticket_and_say_task(migrated, mariadb):
    engine, outcome, db, sfemu = migrated
    tasks = _rows(mariadb, db, "SELECT id, object_id, number FROM {p}task WHERE object_type = 'T'")
    assert tasks
    cases = _cases(sfemu.connect())
    for t in tasks:
        case = cases[_ns(f"ticket:task-{t['id']}")]
        assert case["Subject"].startswith(f"Task #{t['number']}")
        assert case["hdm_Ticket_Number__c"] == f"Task #{t['number']}"
        assert case["ParentId"] == cases[_ns(f"ticket:{t['object_id']}")]["Id"]
    tickets = _rows(mariadb, db, "SELECT number FROM {p}ticket")
    assert not {c["hdm_Ticket_Number__c"] for c in cases.values()} & {f"Task #{t['number']}" for t in tickets}


def test_merged_and_linked_tickets_point_at_their_parent(migrated, mariadb):
    engine, outcome, db, sfemu = migrated
    children = _rows(mariadb, db, "SELECT ticket_id, ticket_pid, flags FROM {p}ticket WHERE ticket_pid IS NOT NULL "
                                  "AND ticket_pid <> 0")
    assert any(c["flags"] & 8 for c in children), "the generated database has a linked ticket"
    cases = _cases(sfemu.connect())
    for c in children:
        assert cases[_ns(f"ticket:{c['ticket_id']}")]["ParentId"] == cases[_ns(f"ticket:{c['ticket_pid']}")]["Id"]


def test_re_run_adds_nothing_and_rollback_removes_it_all(migrated, tmp_path):
    engine, outcome, db, sfemu = migrated
    first = sfemu.admin.counts()
    assert first.get("CaseContactRole") and first.get("hdm_Case_Event__c")
    cfg = engine.config
    again = LocalEngine(cfg, workdir=tmp_path / "fresh", progress=False).run(approve=True)
    assert again.status == "succeeded", again.message
    assert sfemu.admin.counts() == first
    result = engine.rollback()
    after = sfemu.admin.counts()
    assert after.get("CaseContactRole", 0) == 0
    assert after.get("hdm_Case_Event__c", 0) == 0
    assert after.get("Case", 0) == 0, result


def test_source_ledger_names_every_table_and_where_its_rows_went(migrated, mariadb):
    engine, outcome, db, sfemu = migrated
    ledger = {t["table"]: t for t in outcome.report["source"]["tables"]}
    in_db = {r["t"][len(db.prefix):] for r in _rows(
        mariadb, db, f"SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                     f"AND TABLE_NAME LIKE '{db.prefix}%'")}
    assert in_db <= set(ledger), in_db - set(ledger)
    # every table the extractor read is declared, with what its rows became
    read = {t for t, v in ledger.items() if v["rows_read"]}
    assert read and all(ledger[t]["fate"] and "not in the source's table list" not in ledger[t]["fate"] for t in read)
    collab = ledger["thread_collaborator"]
    assert collab["rows_read"] == collab["rows_in_source"] > 0
    assert "CaseContactRole" in collab["destination"]
    events = ledger["thread_event"]
    assert events["rows_read"] == events["rows_in_source"] > 0
    assert "hdm_Case_Event__c" in events["destination"]
    assert "Case 'Task #" in ledger["task"]["destination"]
    assert ledger["config"]["destination"].startswith("looked up only")
    assert ledger["session"]["destination"].startswith("not read") and not ledger["session"]["rows_read"]
    assert "Knowledge__kav" in ledger["faq"]["destination"]  # FAQs load as Knowledge articles
    assert "Message-ID" in ledger["thread_entry_email"]["fate"] and not ledger["thread_entry_email"]["rows_read"]
    html = engine.stage.get_bytes("reports/reconciliation.html").decode()
    assert "Where every source table went" in html and "thread_collaborator" in html


def test_a_legacy_1_9_database_carries_its_events_and_collaborators(osticket_db, mariadb, sfemu, tmp_path):
    from hdm_infra.rehearsal import agent_emails, destination_users, migration_config, prepare_org

    db = osticket_db(version="legacy-1.9", tickets=40, seed=5)
    with mariadb.connect(database=db.database) as conn:
        users = destination_users(agent_emails(conn, db.prefix))
    prepare_org(sfemu.running, users)
    events = _rows(mariadb, db, "SELECT COUNT(*) AS n FROM {p}ticket_event")[0]["n"]
    collabs = _rows(mariadb, db, "SELECT COUNT(*) AS n FROM {p}ticket_collaborator")[0]["n"]
    assert events and collabs
    cfg = migration_config("legacy-carry", db, sfemu.running, tmp_path / "secrets")
    outcome = LocalEngine(cfg, workdir=tmp_path / "work", progress=False).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    counts = sfemu.admin.counts()
    assert counts["hdm_Case_Event__c"] == events
    assert counts["CaseContactRole"] == collabs
    ledger = {t["table"]: t for t in outcome.report["source"]["tables"]}
    assert ledger["ticket_event"]["rows_read"] == events
    assert "hdm_Case_Event__c" in ledger["ticket_event"]["destination"]


def test_a_rollback_from_a_fresh_state_folder_sweeps_the_events_too(migrated, tmp_path):
    engine, outcome, db, sfemu = migrated
    assert sfemu.admin.counts()["hdm_Case_Event__c"]
    lost = LocalEngine(engine.config, workdir=tmp_path / "never-ran", progress=False)  # the state folder is gone
    result = lost.rollback()
    after = sfemu.admin.counts()
    assert result["restored"] is True, result
    assert result["swept"]["hdm_Case_Event__c"] > 0
    assert after["hdm_Case_Event__c"] == 0 and after["CaseContactRole"] == 0 and after["Case"] == 0
