"""Kustomer value decoding: custom attributes typed by suffix, timestamps, meta to/cc/bcc shapes, e-mail and domain
lists; and the record mappers' edge cases (a bad value flags the record, never costs it)."""

from __future__ import annotations

import pytest
from hdm.model import ContactRole, Direction, MessageKind, StatusState, Visibility
from hdm.sources.kustomer import records
from hdm.sources.kustomer.values import (
    canonical_type,
    decode_custom,
    decode_value,
    domain_list,
    email_list,
    iso_utc,
    recipients,
    suffix_of,
)


@pytest.mark.parametrize("name, expected", [
    ("orderNumberStr", ("text", "string")), ("notesTxt", ("memo", "text")), ("totalNum", ("decimal", "number")),
    ("placedAt", ("datetime", "date")), ("vipBool", ("bool", "boolean")), ("reasonTree", ("choice", "tree")),
    ("homepageUrl", ("text", "url")),
])
def test_suffix_gives_the_type(name, expected):
    assert canonical_type(name) == expected


def test_no_suffix_falls_back_to_metadata_then_other():
    assert suffix_of("legacy") is None
    assert canonical_type("legacy", "number") == ("decimal", "number")
    assert canonical_type("legacy") == ("other", "unknown")
    assert suffix_of("At") is None  # a bare suffix is not an attribute name


@pytest.mark.parametrize("name, value, decoded", [
    ("totalNum", "12.50", 12.5), ("totalNum", "7", 7), ("totalNum", 3, 3),
    ("placedAt", "2024-03-01T10:00:00.000Z", "2024-03-01T10:00:00Z"),
    ("placedAt", "2024-03-01 12:00:00+02:00", "2024-03-01T10:00:00Z"),
    ("placedAt", 1709287200000, "2024-03-01T10:00:00Z"),
    ("vipBool", "true", True), ("vipBool", 0, False), ("orderNumberStr", 42, "42"),
    ("reasonTree", "billing.refund", "billing.refund"),
])
def test_values_decode_by_suffix(name, value, decoded):
    assert decode_value(name, value) == (decoded, None)


@pytest.mark.parametrize("name, value", [
    ("totalNum", "twelve"), ("totalNum", True), ("placedAt", "yesterday"), ("vipBool", "maybe"),
    ("orderNumberStr", {"a": 1}), ("reasonTree", ["a"]),
])
def test_a_value_that_does_not_fit_is_kept_and_reported(name, value):
    decoded, problem = decode_value(name, value)
    assert decoded == value and problem


def test_decode_custom_keeps_every_attribute_and_lists_problems():
    d = decode_custom({"totalNum": "x", "vipBool": True, "placedAt": None})
    assert d.values == {"totalNum": "x", "vipBool": True, "placedAt": None}
    assert [n for n, _ in d.problems] == ["totalNum"]
    assert decode_custom("oops").problems == [("custom", "custom attributes are a str, not an object")]


@pytest.mark.parametrize("value, expected", [
    ([{"email": "a@x.example", "name": "A"}, {"email": "b@x.example"}], ["a@x.example", "b@x.example"]),
    ({"email": "a@x.example", "name": "A"}, ["a@x.example"]),
    ("a@x.example", ["a@x.example"]),
    ("A <a@x.example>, b@x.example", ["a@x.example", "b@x.example"]),
    (["a@x.example", {"email": "a@x.example"}], ["a@x.example"]),
    ("+15550001111", ["+15550001111"]),
    (None, []), ({}, []), (7, []),
])
def test_recipients_normalise_every_shape(value, expected):
    assert recipients(value) == expected


def test_email_and_domain_lists():
    assert email_list([{"email": "A@x.example"}, {"email": "a@X.example"}, "b@y.example", {"email": "bad"}]) == [
        "A@x.example", "b@y.example"]
    assert domain_list(["Company1.Example", "company1.example", "www.company1.example"]) == [
        "company1.example", "www.company1.example"]


def test_iso_utc():
    assert iso_utc("2023-06-15T12:00:00.000Z") == "2023-06-15T12:00:00Z"
    assert iso_utc("2023-06-15T12:00:00.123Z") == "2023-06-15T12:00:00.123Z"
    assert iso_utc("not a date") is None and iso_utc(None) is None


# -- mappers ---------------------------------------------------------------------------------------------------

def _res(type_, id_, attributes, relationships=None):
    return {"type": type_, "id": id_, "attributes": attributes, "relationships": relationships or {}}


def test_customer_carries_what_kustomer_says():
    c = records.customer(_res("customer", "c1", {
        "name": "Ada", "emails": [{"email": "ada@w.example"}, {"email": "ada@home.example"}],
        "phones": [{"phone": "+1"}], "externalId": "ext-1", "tags": ["t1", "gone"],
        "custom": {"customerTypeStr": "lead", "lifecycleStageStr": "opportunity", "lifetimeValueNum": "oops"},
        "createdAt": "2023-01-01T00:00:00.000Z"}, {"company": {"data": {"type": "company", "id": "co1"}}}),
        {"t1": "vip"})
    assert (c.email, c.other_emails, c.phone) == ("ada@w.example", ["ada@home.example"], "+1")
    assert c.organization == "organization:co1" and c.organizations == ["organization:co1"]
    assert c.role is ContactRole.LEAD and c.lifecycle == "opportunity" and c.extra["customer_type"] == "lead"
    assert c.external_ids == {"external": "ext-1"} and c.tags == ["vip", "gone"]
    assert {f.code for f in c.flags} == {"dangling_fk", "lossy_value"}
    assert c.custom["lifetimeValueNum"] == "oops"  # kept, flagged


def test_conversation_status_priority_and_assignment():
    t = records.conversation(_res("conversation", "v1", {
        "name": "Late", "status": "snoozed", "priority": 5, "channels": ["sms"], "assignedUsers": ["u1", "u2"],
        "assignedTeams": ["g1"], "custom": {"orderNumberStr": "ORD-1"}, "messageCount": 2, "noteCount": 1,
        "snooze": {"time": "2023-02-01T00:00:00.000Z"}}, {"customer": {"data": {"id": "c1"}}}), {})
    assert (t.status, t.status_state, t.priority, t.priority_urgency) == ("snoozed", StatusState.PENDING, "5", 1)
    assert (t.assignee, t.assignee_group, t.requester) == ("agent:u1", "team:g1", "contact:c1")
    assert t.extra["assigned_users"] == ["agent:u1", "agent:u2"] and t.channel == "other"
    assert t.message_count == 3 and t.extra["channels"] == ["sms"]
    done = records.conversation(_res("conversation", "v2", {"status": "done", "endedAt": "2023-01-02T00:00:00Z"}), {})
    assert done.status_state is StatusState.CLOSED and done.closed_at == "2023-01-02T00:00:00Z"
    odd = records.conversation(_res("conversation", "v3", {"status": "archived", "priority": 9}), {})
    assert odd.status == "archived" and {f.code for f in odd.flags} >= {"unknown_status", "lossy_value"}


def test_thread_orders_messages_and_notes_and_keeps_notes_internal():
    msgs = [_res("message", "m2", {"direction": "out", "createdAt": "2023-01-01T02:00:00Z", "channel": "email",
                                   "body": "reply", "meta": {"from": "s@x.example", "to": {"email": "c@x.example"},
                                                             "cc": "d@x.example", "html": "<p>reply</p>"}},
                 {"createdBy": {"data": {"id": "u1"}}, "attachments": {"data": [{"id": "a1"}]}}),
            _res("message", "m1", {"direction": "in", "createdAt": "2023-01-01T01:00:00Z", "channel": "email",
                                   "body": "help", "meta": {"from": "c@x.example", "to": [{"email": "s@x.example"}]}},
                 {"customer": {"data": {"id": "c1"}}})]
    notes = [_res("note", "n1", {"body": "internal", "createdAt": "2023-01-01T01:30:00Z"},
                  {"createdBy": {"data": {"id": "u2"}}})]
    out = records.thread("v1", msgs, notes)
    assert [m.provenance.id for m in out] == ["m1", "n1", "m2"] and [m.position for m in out] == [0, 1, 2]
    first, note, reply = out
    assert (first.kind, first.direction, first.author) == (MessageKind.CUSTOMER, Direction.INBOUND, "contact:c1")
    assert note.visibility is Visibility.INTERNAL and note.direction is None and note.author == "agent:u2"
    assert (reply.kind, reply.direction, reply.author) == (MessageKind.AGENT, Direction.OUTBOUND, "agent:u1")
    assert reply.recipients == {"to": ["c@x.example"], "cc": ["d@x.example"], "from": ["s@x.example"]}
    assert reply.body_format == "html" and reply.attachments == ["attachment:a1"] and reply.ticket == "ticket:v1"


def test_klass_lookups_and_kobject_relationships():
    klass = records.klass_type(_res("klass", "k1", {"name": "line_item", "displayName": "Line item", "metadata": {
        "properties": {"orderIdStr": {"displayName": "Order", "type": "string", "target": "kobject.order"},
                       "priceNum": {"displayName": "Price", "type": "number"}}}}))
    assert klass.key == "custom_object_type:line_item"
    assert records.lookups_of(klass) == {"orderIdStr": "order"}
    rec, parents = records.kobject(_res("kobject", "o1", {"title": "L1", "custom": {"orderIdStr": "p1",
                                                                                      "priceNum": "2.5"}},
                                        {"customer": {"data": {"id": "c1"}}}), klass)
    assert parents == {"orderIdStr": "p1"} and rec.values["priceNum"] == 2.5
    assert rec.related == ["contact:c1", "custom_object_record:p1"] and rec.type == klass.key


def test_kit_failures_become_source_failures_and_stay_generic():
    from hdm import connector_errors
    from hdm.errors import classify
    from hdm.exitcodes import SOURCE
    from hdm.http import errors as kit
    from hdm.sources.kustomer.errors import KustomerAuthFailed, KustomerUnavailable, translate

    refused = translate(kit.AuthFailed("not authorised", family="GET /klasses", status=401))
    assert isinstance(refused, KustomerAuthFailed) and isinstance(refused, kit.AuthFailed)
    assert refused.status == 401 and "GET /klasses" in str(refused)
    busy = translate(kit.Transient("server busy", family="POST /customers/search [customer]", status=429,
                                   retry_after=3.0))
    assert isinstance(busy, KustomerUnavailable) and isinstance(busy, connector_errors.Transient)
    assert busy.retry_after == 3.0
    assert classify(refused)[0] == SOURCE


def test_a_note_outside_a_conversation_is_a_note_on_its_customer_or_company():
    n = records.customer_note(_res("note", "n9", {"body": "VIP account", "createdAt": "2023-01-01T00:00:00Z"},
                                   {"customer": {"data": {"id": "c1"}}, "createdBy": {"data": {"id": "u1"}}}))
    assert (n.key, n.subject, n.author, n.body_text) == ("note:n9", "contact:c1", "agent:u1", "VIP account")
    on_company = records.customer_note(_res("note", "n8", {"body": "x"}, {"company": {"data": {"id": "co1"}}}))
    assert on_company.subject == "organization:co1" and not on_company.flags
    lost = records.customer_note(_res("note", "n7", {}))
    assert {f.code for f in lost.flags} == {"dangling_fk", "missing_value"}


def test_lifecycle_events_come_from_the_conversation_timestamps():
    done = records.lifecycle_events(_res("conversation", "v1", {
        "status": "done", "createdAt": "2023-01-01T00:00:00Z", "endedAt": "2023-01-02T00:00:00Z"},
        {"customer": {"data": {"id": "c1"}}}))
    assert [(e.key, e.name, e.at, e.ticket) for e in done] == [
        ("event:v1.created", "created", "2023-01-01T00:00:00Z", "ticket:v1"),
        ("event:v1.closed", "closed", "2023-01-02T00:00:00Z", "ticket:v1")]
    assert done[0].actor == "contact:c1"
    assert [e.name for e in records.lifecycle_events(_res("conversation", "v2", {
        "status": "open", "createdAt": "2023-01-01T00:00:00Z", "endedAt": "2023-01-02T00:00:00Z"}))] == ["created"]
