"""The databases the real osTicket application wrote (tests/fixtures/osticket_real) carry their collaborators,
events, tasks, merges and links into the org on the local engine, and roll back (issue #9 item 5)."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from hdm.engines.local import LocalEngine
from hdm_infra.rehearsal import agent_emails, destination_users, migration_config, prepare_org

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "osticket_real"
VERSIONS = sorted(p.name for p in RECORDINGS.glob("*") if (p / "osticket.sql.gz").is_file())


def _load(mariadb, version: str) -> SimpleNamespace:
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        pytest.skip("no mariadb client")
    name = f"ost_realcarry_{version.replace('.', '_')}_{secrets.token_hex(3)}"
    mariadb.create_database(name)
    info = mariadb.info()
    subprocess.run([client, "--host=127.0.0.1", f"--port={info['port']}", f"--user={info['user']}",
                    "--default-character-set=utf8mb4", name],
                   input=gzip.decompress((RECORDINGS / version / "osticket.sql.gz").read_bytes()), check=True,
                   capture_output=True, timeout=120,
                   env={"MYSQL_PWD": info["password"], "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    user, password = f"ro_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    mariadb.create_user(user, password, name, read_only=True)
    return SimpleNamespace(host=mariadb.host, port=mariadb.port, user=user, password=password, database=name,
                           prefix="ost_", files_dir=None)


def _rows(mariadb, db, sql: str) -> list[dict]:
    with mariadb.connect(database=db.database) as conn, conn.cursor() as cur:
        cur.execute(sql.replace("{p}", db.prefix))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _org(sf, soql: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in sf.query_all(soql)["records"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_real_osticket_collaborators_events_tasks_and_links_arrive_and_roll_back(version, mariadb, sfemu, tmp_path):
    db = _load(mariadb, version)
    with mariadb.connect(database=db.database) as conn:
        prepare_org(sfemu.running, destination_users(agent_emails(conn, db.prefix)))
    mid = f"real-carry-{version.replace('.', '-')}"
    engine = LocalEngine(migration_config(mid, db, sfemu.running, tmp_path / "secrets"), workdir=tmp_path / "w",
                         progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    sf = sfemu.connect()
    cases = {r["hdm_Legacy_Id__c"].split("/", 1)[1]: r for r in _org(
        sf, "SELECT Id, hdm_Legacy_Id__c, ParentId, Subject, hdm_Ticket_Number__c FROM Case")}
    by_id = {c["Id"]: k for k, c in cases.items()}
    contacts = {r["Id"]: r["hdm_Legacy_Id__c"].split("/", 1)[1]
                for r in _org(sf, "SELECT Id, hdm_Legacy_Id__c FROM Contact")}

    # collaborators (CCs added through the staff panel) -> CaseContactRole
    collab = _rows(mariadb, db, "SELECT h.object_id AS tid, c.user_id, c.flags FROM {p}thread_collaborator c "
                                "JOIN {p}thread h ON h.id = c.thread_id WHERE h.object_type IN ('T', 'C')")
    assert collab, "the recording has collaborators"
    roles = {(by_id[r["CasesId"]], contacts[r["ContactId"]], r["Role"])
             for r in _org(sf, "SELECT CasesId, ContactId, Role FROM CaseContactRole")}
    assert roles == {(f"ticket:{c['tid']}", f"contact:{c['user_id']}",
                      "Former collaborator" if not c["flags"] & 1 else "CC" if c["flags"] & 2 else "Collaborator")
                     for c in collab}

    # every event of a ticket or task whose Case loaded, with its original time and type
    events = _rows(mariadb, db, "SELECT e.id, e.timestamp, v.name AS type, h.object_type, h.object_id, "
                                "k.object_id AS task_ticket FROM {p}thread_event e JOIN {p}thread h ON h.id = "
                                "e.thread_id LEFT JOIN {p}event v ON v.id = e.event_id LEFT JOIN {p}task k ON "
                                "h.object_type = 'A' AND k.id = h.object_id")
    got = {r["hdm_Legacy_Id__c"].split("/", 1)[1]: r for r in _org(
        sf, "SELECT hdm_Legacy_Id__c, Case__c, Event_Time__c, Type__c FROM hdm_Case_Event__c")}
    for e in events:
        owner = f"ticket:task-{e['object_id']}" if e["object_type"] == "A" else f"ticket:{e['object_id']}"
        ev = got[f"event:{e['id']}"]
        assert by_id[ev["Case__c"]] == owner and ev["Type__c"] == e["type"]
        when = dt.datetime.fromisoformat(ev["Event_Time__c"].replace("+0000", "+00:00"))
        assert when == e["timestamp"].replace(tzinfo=dt.UTC)  # the recordings store UTC (manifest timezone)
    assert len(got) == len(events)

    # the task hangs under its ticket and says it is a task; merged and linked children point at their parent
    tasks = _rows(mariadb, db, "SELECT id, object_id, number FROM {p}task WHERE object_type = 'T'")
    assert tasks
    for t in tasks:
        case = cases[f"ticket:task-{t['id']}"]
        assert case["Subject"].startswith(f"Task #{t['number']}") and case["hdm_Ticket_Number__c"].startswith("Task #")
        assert case["ParentId"] == cases[f"ticket:{t['object_id']}"]["Id"]
    children = _rows(mariadb, db, "SELECT ticket_id, ticket_pid, flags FROM {p}ticket WHERE ticket_pid > 0")
    assert {c["flags"] & 0x8 for c in children} == {0, 0x8}, "the recording has a merge and a link"
    for c in children:
        assert cases[f"ticket:{c['ticket_id']}"]["ParentId"] == cases[f"ticket:{c['ticket_pid']}"]["Id"]

    ledger = {t["table"]: t for t in outcome.report["source"]["tables"]}
    assert ledger["thread_collaborator"]["rows_read"] == ledger["thread_collaborator"]["rows_in_source"]
    assert ledger["thread_event"]["rows_read"] == len(events)

    result = engine.rollback()
    after = sfemu.admin.counts()
    assert result["restored"], result
    assert after["CaseContactRole"] == after["hdm_Case_Event__c"] == after["Case"] == 0
