"""Tasks, links, collaborators and events become rows that say what they are (issue #9 item 5)."""

import json

import pytest
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping
from hdm.model import Event, Provenance, Ticket


@pytest.fixture
def tx():
    names = ReferenceNames({"agent:3": "Ann Agent <ann@example.test>", "team:dept-1": "Support"})
    return SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(), names)


def test_a_task_case_says_task_and_hangs_under_its_ticket(tx):
    task = Ticket(Provenance("osticket", "task", "task-7"), kind="task", number="00007", subject="Call back",
                  parent="ticket:5", relation="task_of")
    out = tx.transform("ticket", [task])
    case = out["cases"][0]
    assert case["Subject"] == "Task #00007: Call back"
    assert case["hdm_Ticket_Number__c"] == "Task #00007"
    assert out["case_parents"][0]["_lookups"] == {"ParentId": "ticket:5"}
    ticket = Ticket(Provenance("osticket", "ticket", "5"), number="00007", subject="Call back")
    plain = tx.transform("ticket", [ticket])
    assert plain["cases"][0]["hdm_Ticket_Number__c"] == "00007" and "case_parents" not in plain


@pytest.mark.parametrize("relation", ["merged", "linked"])
def test_merged_and_linked_children_get_their_parent(tx, relation):
    child = Ticket(Provenance("osticket", "ticket", "9"), number="9", parent="ticket:4", relation=relation)
    row = tx.transform("ticket", [child])["case_parents"][0]
    assert row["_lookups"] == {"ParentId": "ticket:4"} and row["_relation"] == relation
    assert row["_flags"][0]["code"] == f"{relation}_ticket"


def test_collaborators_become_contact_roles_with_their_state(tx):
    t = Ticket(Provenance("osticket", "ticket", "1"), collaborators=["contact:2", "contact:3", "contact:4"],
               collaborator_details=[
                   {"contact": "contact:2", "role": "M", "role_name": "client", "active": True, "cc": True},
                   {"contact": "contact:3", "role": "M", "role_name": "client", "active": True, "cc": False},
                   {"contact": "contact:4", "role": "N", "role_name": "third party", "active": False, "cc": True}])
    rows = tx.transform("ticket", [t])["case_contacts"]
    assert [(r["_source_key"], r["Role"]) for r in rows] == [
        ("ticket:1#cc:contact:2", "CC"), ("ticket:1#cc:contact:3", "Collaborator"),
        ("ticket:1#cc:contact:4", "Former collaborator")]
    assert rows[0]["_lookups"] == {"CasesId": "ticket:1", "ContactId": "contact:2"}
    # a third party on internal notes: what Role cannot say is kept as a flag
    assert rows[0]["_flags"] == [] and rows[2]["_flags"][0]["code"] == "collaborator_role"


def test_an_event_keeps_time_actor_type_and_details(tx):
    ev = Event(Provenance("osticket", "thread_event", "11"), ticket="ticket:1", name="assigned", actor="agent:3",
               actor_name="ann", at="2024-02-01T10:00:00Z", data={"staff": "agent:3", "details": {"x": [1, "y"]}})
    row = tx.transform("event", [ev])["case_events"][0]
    assert row["_object"] == "hdm_Case_Event__c" and row["hdm_Legacy_Id__c"] == "event:11"
    assert row["_lookups"] == {"Case__c": "ticket:1"}
    assert (row["Type__c"], row["Event_Time__c"], row["Actor__c"]) == (
        "assigned", "2024-02-01T10:00:00.000Z", "Ann Agent <ann@example.test>")
    assert json.loads(row["Details__c"]) == {"staff": "Ann Agent <ann@example.test> (agent:3)",
                                             "details": {"x": [1, "y"]}}
    assert row["Annulled__c"] is False and row["Name"] == "assigned 2024-02-01 10:00"
    orphan = Event(Provenance("osticket", "thread_event", "12"), name="deleted", annulled=True)
    held = tx.transform("event", [orphan])["case_events"][0]
    assert held["_hold"] and held["Annulled__c"] is True
