"""The scoping report and the automation inventory over a generated database (figures checked against SQL)."""

from __future__ import annotations

import pytest
from hdm.sources.osticket import OsTicketSource, build_inventory, build_scoping_report, render_scoping_markdown


@pytest.fixture(scope="module")
def generated(osticket_db):
    db = osticket_db(version="1.14", prefix="helpdesk_", tickets=60)
    params = {"host": db.host, "port": db.port, "user": db.user, "password": db.password, "database": db.database}
    with OsTicketSource(params) as src:
        report = build_scoping_report(src)
        inventory = build_inventory(src)
    return db, report, inventory


def _sql(db, sql):
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(sql.replace("{p}", db.prefix))
        return cur.fetchall()


def test_scoping_report_states_version_prefix_and_counts(generated):
    db, report, _ = generated
    assert (report["version"], report["prefix"]) == ("1.14", "helpdesk_")
    assert report["table_counts"]["ticket"] == 60 == report["record_counts"]["ticket"] - db.manifest.objects["task"]
    assert report["table_counts"]["thread_entry"] == _sql(db, "SELECT COUNT(*) FROM {p}thread_entry")[0][0]


def test_scoping_report_finds_the_special_cases(generated):
    db, report, _ = generated
    sc = db.manifest.special_counts
    assert report["orphan_users"] == sc["orphan_user_ids"]
    assert sum(d["count"] for d in report["duplicate_organizations"]) == sc["duplicate_org_ids"]
    assert report["threads"]["threads_20_plus"] >= sc.get("long_thread_ticket_ids", 0) > 0
    assert report["merged_tickets"] == sc["merged_child_ticket_ids"]
    assert report["charset"]["invalid_utf8_total"] == sc["invalid_utf8"]
    assert "thread_entry.title (latin1)" in report["charset"]["non_utf8_columns"]
    assert report["hidden_entries"] == sc["hidden_entry_ids"]
    assert report["collaborators"] == _sql(db, "SELECT COUNT(*) FROM {p}thread_collaborator")[0][0] > 0
    # every table says what becomes of its rows (the table half of the source ledger)
    assert report["tables"]["thread_collaborator"]["becomes"] == "ticket.collaborators"
    assert report["tables"]["thread_event"]["becomes"] == "event" and report["tables"]["session"]["read"] is False
    md = render_scoping_markdown(report)
    assert "collaborators (CCs)" in md and "| helpdesk_thread_event |" in md and "one event per row" in md
    files, size = _sql(db, "SELECT COUNT(*), SUM(size) FROM {p}file WHERE id IN "
                           "(SELECT file_id FROM {p}attachment WHERE type = 'H')")[0]
    assert (report["attachments"]["files"], report["attachments"]["bytes"]) == (files, int(size))
    assert report["attachments"]["needs_filesystem_access"] is True  # the generator stores some files on disk


def test_custom_field_inventory_has_types_and_required_flags(generated):
    db, report, _ = generated
    fields = {(f["target"], f["name"]): f for f in report["custom_fields"]}
    subject = fields[("ticket", "subject")]
    assert subject["required_for_customer"] and subject["required_for_agent"] and subject["core"]
    priority = fields[("ticket", "priority")]
    assert not priority["visible_to_customer"] and not priority["required_for_customer"]
    for name in report["required_ticket_fields"]:
        assert not fields[("ticket", name)]["core"]
    md = render_scoping_markdown(report)
    assert "| ticket | Ticket Details | `subject` (core)" in md
    assert "Version: **1.14**" in md and "`helpdesk_`" in md


def test_inventory_lists_every_automation_with_rebuild_notes(generated):
    db, _, inventory = generated
    for (name,) in _sql(db, "SELECT name FROM {p}sla"):
        assert f"| {name} |" in inventory
    for (name,) in _sql(db, "SELECT topic FROM {p}help_topic"):
        assert f"| {name} |" in inventory
    for (name,) in _sql(db, "SELECT name FROM {p}filter"):
        assert f"### {name} " in inventory
    for (title,) in _sql(db, "SELECT title FROM {p}canned_response"):
        assert f"| {title} |" in inventory
    for heading in ("## SLA plans", "## Help topics", "## Departments", "## Ticket filters", "## Email templates",
                    "## Canned responses"):
        assert heading in inventory
    assert inventory.count("**Salesforce:**") >= 6 and inventory.count("**Intercom:**") >= 6
    assert "Entitlement" in inventory and "Queue" in inventory and "workflow" in inventory.lower()


def test_tasks_without_a_ticket_are_counted_as_not_migrated(osticket_db, mariadb):
    db = osticket_db(version="1.18", prefix="ost_", tickets=40, seed=5)
    with mariadb.connect(database=db.database) as conn, conn.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ost_task")
        task_id = cur.fetchone()[0]
        cur.execute("INSERT INTO ost_task (id, object_id, object_type, number, dept_id, staff_id, team_id, lock_id, "
                    "flags, created, updated) VALUES (%s, 0, 'T', 'X1', 1, 0, 0, 0, 1, NOW(), NOW())", (task_id,))
    try:
        params = {"host": db.host, "port": db.port, "user": db.user, "password": db.password,
                  "database": db.database}
        with OsTicketSource(params) as src:
            report = build_scoping_report(src)
        assert report["unlinked_tasks"] == 1
        assert "tasks without a ticket, not migrated | 1" in render_scoping_markdown(report)
    finally:
        with mariadb.connect(database=db.database) as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM ost_task WHERE id = %s", (task_id,))
