"""Canonical records → Salesforce rows: the promises hold before anything is sent."""

import pytest
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer, merge_key
from hdm.mapping import load_mapping
from hdm.model import (
    Agent,
    Attachment,
    Contact,
    Message,
    MessageKind,
    Organization,
    Provenance,
    SlaPolicy,
    Team,
    Ticket,
    Visibility,
)


def P(obj, i):
    return Provenance("osticket", obj, str(i))


@pytest.fixture
def tx():
    names = ReferenceNames({"category:1": "Billing", "team:1": "Support"})
    return SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(max_file_bytes=1000), names)


def msg(kind, visibility, **kw):
    return Message(P("thread_entry", 1), ticket="ticket:1", kind=kind, visibility=visibility,
                   body_html="<p>hi</p>", author_name="A", created_at="2024-01-31T12:00:00Z", **kw)


@pytest.mark.parametrize("kind,visibility,published", [
    (MessageKind.CUSTOMER, Visibility.PUBLIC, True),
    (MessageKind.AGENT, Visibility.PUBLIC, True),
    (MessageKind.AGENT, Visibility.INTERNAL, False),
    (MessageKind.CUSTOMER, Visibility.INTERNAL, False),
    (MessageKind.SYSTEM, Visibility.PUBLIC, False),
    (MessageKind.SYSTEM, Visibility.INTERNAL, False),
    (MessageKind.BOT, Visibility.PUBLIC, True),  # a bot's reply the customer saw: published like an agent's
    (MessageKind.BOT, Visibility.INTERNAL, False),
])
def test_internal_notes_and_system_notes_arrive_unpublished(tx, kind, visibility, published):
    rows = tx.transform("message", [msg(kind, visibility)])["comments"]
    assert [r["IsPublished"] for r in rows] == [published]
    assert rows[0]["_lookups"] == {"ParentId": "ticket:1"}


@pytest.mark.parametrize("kind", [MessageKind.CUSTOMER, MessageKind.AGENT, MessageKind.BOT])
def test_published_comments_name_their_author_without_an_email_address(tx, kind):
    m = msg(kind, Visibility.PUBLIC, author_email="jane.agent@corp.test")
    m.body_html = "<p>" + "long reply " * 800 + "</p>"  # several parts: none carries the address
    rows = tx.transform("message", [m])["comments"]
    assert len(rows) > 1 and all(r["IsPublished"] for r in rows)
    assert not any("@" in r["CommentBody"] for r in rows)
    assert all(r["CommentBody"].startswith(f"[{kind.value.title()} message] A ·") for r in rows)


def test_internal_notes_keep_the_authors_email_address_in_their_header(tx):
    rows = tx.transform("message", [msg(MessageKind.AGENT, Visibility.INTERNAL, author_email="jane.agent@corp.test")])
    assert rows["comments"][0]["IsPublished"] is False
    assert rows["comments"][0]["CommentBody"].startswith("[Agent note] A <jane.agent@corp.test> ·")


def test_an_internal_bot_message_stays_unpublished_in_every_part_and_as_a_file():
    names = ReferenceNames({})
    for opts in (SalesforceOptions(), SalesforceOptions(body_file_bytes=5000)):
        t = SalesforceTransformer(load_mapping("osticket", "salesforce"), opts, names)
        m = msg(MessageKind.BOT, Visibility.INTERNAL, author_email="bot@corp.test")
        m.body_html = "<p>" + "bot triage " * 1000 + "</p>"  # over 4000 bytes: split, or a file over 5000
        rows = t.transform("message", [m])["comments"]
        assert rows and not any(r["IsPublished"] for r in rows)
        assert all(r["CommentBody"].startswith("[Bot note] A <bot@corp.test> ·") for r in rows)
        public = msg(MessageKind.BOT, Visibility.PUBLIC)
        public.body_html = m.body_html
        assert all(r["IsPublished"] for r in t.transform("message", [public])["comments"])


def test_an_internal_note_over_4000_bytes_stays_internal_in_every_part(tx):
    m = msg(MessageKind.AGENT, Visibility.INTERNAL)
    m.body_html = "<p>" + "secret words " * 1000 + "</p>"
    rows = tx.transform("message", [m])["comments"]
    assert len(rows) > 1 and not any(r["IsPublished"] for r in rows)
    assert [r["_source_key"] for r in rows] == [f"message:1#{i}" for i in range(len(rows))]
    assert all(len(r["CommentBody"].encode()) <= 4000 for r in rows)


def test_ticket_rows_map_values_keep_lookups_as_keys_and_flag_lossy(tx):
    t = Ticket(P("ticket", 5), number="100005", subject="S", status="Archived", status_state="archived",
               priority="emergency", requester="contact:2", organization="organization:3", assignee="agent:4",
               queue="team:1", category="category:1", created_at="2023-01-02T03:04:05Z", parent="ticket:1",
               relation="merged")
    out = tx.transform("ticket", [t])
    row = out["cases"][0]
    assert (row["Status"], row["Priority"], row["hdm_Legacy_Id__c"]) == ("Closed", "High", "ticket:5")
    assert row["case_help_topic__c"] == "Billing" and row["case_department__c"] == "Support"
    assert row["_lookups"] == {"ContactId": "contact:2", "AccountId": "organization:3"}
    assert row["_owner"] == {"agent": "agent:4", "queue": "team:1"}
    assert row["hdm_Original_Created_At__c"] == "2023-01-02T03:04:05.000Z"
    assert row["_audit"]["CreatedDate"]["value"] == "2023-01-02T03:04:05.000Z"  # used only if the org allows
    assert {f["field"] for f in row["_flags"] if f["code"] == "lossy_value"} == {"Status", "Priority"}
    assert out["case_parents"][0]["_lookups"] == {"ParentId": "ticket:1"}


def test_same_names_share_a_merge_key_whatever_their_case_and_spacing(tx):
    rows = tx.transform("organization", [Organization(P("o", 1), name="Acme  Corp"),
                                         Organization(P("o", 2), name="acme corp")])["accounts"]
    assert rows[0]["hdm_Merge_Key__c"] == rows[1]["hdm_Merge_Key__c"] == merge_key("ACME CORP")


def test_orphan_contacts_are_flagged_and_bad_emails_emptied(tx):
    row = tx.transform("contact", [Contact(P("user", 1), name="Mary Ann Smith", email="not-an-email")])["contacts"][0]
    assert (row["FirstName"], row["LastName"], row["Email"]) == ("Mary Ann", "Smith", None)
    assert {f["code"] for f in row["_flags"]} == {"orphan_contact", "invalid_email"}
    assert "AccountId" not in row["_lookups"]


def test_disallowed_and_oversized_files_are_held_with_a_reason(tx):
    recs = [Attachment(P("file", 1), ticket="ticket:1", file_name="setup.EXE", size=10, blob="blobs/x"),
            Attachment(P("file", 2), ticket="ticket:1", file_name="big.pdf", size=5000, blob="blobs/y"),
            Attachment(P("file", 3), ticket="ticket:1", file_name="ok.pdf", size=10, blob=None),
            Attachment(P("file", 4), ticket="ticket:1", file_name="fine.pdf", size=10, blob="blobs/z",
                       visibility=Visibility.INTERNAL)]
    rows = {r["_source_key"]: r for r in tx.transform("attachment", recs)["files"]}
    assert ".exe" in rows["attachment:1"]["_hold"] and "limit" in rows["attachment:2"]["_hold"]
    assert "not staged" in rows["attachment:3"]["_hold"]
    assert "_hold" not in rows["attachment:4"] and rows["attachment:4"]["_internal"] is True


def test_agents_and_departments_become_owner_rows(tx):
    out = tx.transform("agent", [Agent(P("staff", 1), first_name="A", last_name="B", email=" a@b.test ")])
    assert out["users"][0]["_email"] == "a@b.test"
    q = tx.transform("team", [Team(P("department", 1), name="Support", members=["agent:1"])])["queues"][0]
    assert (q["Type"], q["DeveloperName"], q["_members"]) == ("Queue", "hdm_dept_1", ["agent:1"])


def test_records_with_no_salesforce_target_are_skipped_with_a_reason(tx):
    out = tx.transform("sla_policy", [SlaPolicy(P("sla", 1), name="Gold")])
    assert out["_skipped"][0]["_source_key"] == "sla_policy:1" and out["_skipped"][0]["reason"]


def test_teams_that_are_not_departments_are_skipped_with_a_reason(tx):
    from hdm.model import TeamKind

    out = tx.transform("team", [Team(P("team", 1), kind=TeamKind.GROUP, name="Tier 2")])
    assert "queues" not in out and out["_skipped"][0]["_source_key"] == "team:1"


def test_a_ticket_without_priority_gets_the_mappings_default_flagged_not_the_orgs_silently(tx):
    t = Ticket(P("ticket", 6), number="100006", subject="Task", status="Open", status_state="open", priority=None)
    row = tx.transform("ticket", [t])["cases"][0]
    assert row["Priority"] == "Medium"  # what verification then expects, whatever the org's own default is
    defaulted = [f for f in row["_flags"] if f["code"] == "defaulted"]
    assert [(f["field"], f["severity"]) for f in defaulted] == [("Priority", "info")]
    assert "mapping's default" in defaulted[0]["reason"]


def test_an_empty_value_whose_map_defaults_to_nothing_stays_empty_and_unflagged(tx):
    t = Ticket(P("ticket", 7), number="100007", subject="S", status="Open", status_state="open", priority="low",
               channel=None)
    row = tx.transform("ticket", [t])["cases"][0]
    assert row["Origin"] is None and row["Priority"] == "Low"
    assert not [f for f in row["_flags"] if f["code"] == "defaulted"]


def test_a_namespaced_migration_writes_namespaced_legacy_ids_merge_keys_and_queue_names():
    import re

    names = ReferenceNames({"category:1": "Billing", "team:1": "Support"})
    tx_a = SalesforceTransformer(load_mapping("osticket", "salesforce"),
                                 SalesforceOptions(legacy_namespace="mig--2024/a"), names)
    ticket = tx_a.transform("ticket", [Ticket(P("ticket", 42), subject="s")])["cases"][0]
    assert ticket["_source_key"] == "ticket:42" and ticket["hdm_Legacy_Id__c"] == "mig--2024/a/ticket:42"
    org = tx_a.transform("organization", [Organization(P("organization", 1), name="ACME  Ltd")])["accounts"][0]
    assert org["hdm_Merge_Key__c"] == "mig--2024/a/acme ltd"
    q_a = tx_a.transform("team", [Team(P("department", 1), name="Support")])["queues"][0]["DeveloperName"]
    tx_b = SalesforceTransformer(load_mapping("osticket", "salesforce"),
                                 SalesforceOptions(legacy_namespace="mig--2024/b"), names)
    q_b = tx_b.transform("team", [Team(P("department", 1), name="Support")])["queues"][0]["DeveloperName"]
    assert q_a != q_b
    for dev in (q_a, q_b):  # Salesforce's DeveloperName rule
        assert re.fullmatch(r"[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}", dev) and not dev.endswith("_")
