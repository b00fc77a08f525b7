"""The canonical model (v2) round-trips through its staged JSON form without losing anything, decodes a staged
line straight into its class by ``_type``, refuses what it does not know, and refuses a stage of another schema
version."""

from __future__ import annotations

import json

import msgspec
import pytest
from hdm import model
from hdm.model import (
    RECORD_TYPES,
    SCHEMA_VERSION,
    ArticleState,
    Attachment,
    AutomationRule,
    Brand,
    Category,
    Contact,
    ContactRole,
    CustomFieldDef,
    CustomObjectRecord,
    CustomObjectType,
    Direction,
    Event,
    KbArticle,
    KbCategory,
    Message,
    MessageKind,
    Note,
    ObjectType,
    Organization,
    Priority,
    Provenance,
    ResponseTemplate,
    SatisfactionRating,
    SlaPolicy,
    StageSchemaError,
    Status,
    StatusState,
    Tag,
    Team,
    TeamKind,
    Ticket,
    TicketType,
    Visibility,
    check_schema_version,
    decode_record,
    decode_records,
    direction_of,
    encode_record,
    key,
    record_from_dict,
    records_from_dicts,
    split_key,
)


def P(obj: str, ident: str) -> Provenance:  # noqa: N802 - reads like the class it builds
    return Provenance("osticket", obj, ident, "1.18")


def _samples():
    m = Message(P("thread_entry", "42"), ticket="ticket:7", position=3, kind=MessageKind.AGENT,
                visibility=Visibility.INTERNAL, author="agent:2", body_html="<p>日本語 — ok</p>",
                attachments=["attachment:1"], recipients={"to": ["A <a@example.test>"]}, inline_images={"c1": "a:1"})
    m.flag("dangling_fk", "staff 99 is gone", field="staff_id")
    yield m
    yield Message(P("part", "9"), kind=MessageKind.BOT, direction=Direction.OUTBOUND, extra={"bot": "Fin"})
    yield Ticket(P("ticket", "7"), number="001", status_state=StatusState.ARCHIVED, queue="team:dept-1",
                 assignee_group="team:team-2", category="category:3", ticket_type="ticket_type:1", brand="brand:1",
                 custom={"vip": True, "region": {"k": "EU"}}, collaborators=["contact:1"], tags=["a"],
                 external_ids={"crm": "C-1"}, extra={"source_priority": 3})
    yield Contact(P("user", "1"), name="Ann", email="ann@example.test", other_emails=["b@x.test"],
                  organization="organization:1", organizations=["organization:1", "organization:2"],
                  role=ContactRole.LEAD, lifecycle="prospect", tags=["vip"])
    yield Organization(P("organization", "1"), name="Acme", domains=["acme.test"], tags=["enterprise"])
    yield Team(P("team", "team-3"), kind=TeamKind.GROUP, members=["agent:1"])
    yield model.Agent(P("staff", "1"), first_name="A", queue="team:dept-1", queues=["team:dept-1"],
                      groups=["team:team-3"])
    yield Attachment(P("attachment", "5"), visibility=Visibility.INTERNAL, size=10)
    yield Event(P("thread_event", "1"), ticket="ticket:7", name="closed", data={"status": [1, 3]})
    yield CustomFieldDef(P("form_field", "1"), name="plan", choices=[{"key": "a", "label": "A"}])
    yield Tag(P("tag", "1"), name="t")
    yield SlaPolicy(P("sla", "1"), name="Gold", grace_period_hours=1.5)
    yield Category(P("help_topic", "3"), name="Billing", parent="category:1", queue="team:dept-1",
                   assignee_group="team:team-3", public=False)
    yield TicketType(P("type", "1"), name="Incident", attributes=["severity", "plan"], active=False)
    yield Brand(P("brand", "1"), name="Acme EU", domain="eu.acme.test")
    yield Note(P("note", "1"), subject="organization:1", body_text="renewal due", author="agent:1")
    yield SatisfactionRating(P("rating", "1"), ticket="ticket:7", rating=4, scale="1-5", comment="fine")
    yield Status(P("ticket_status", "1"), name="Open", state=StatusState.OPEN)
    yield Priority(P("ticket_priority", "1"), name="high", urgency=1)
    yield KbCategory(P("faq_category", "1"), name="FAQ", locale="en-US")
    yield KbArticle(P("faq", "1"), title="How", state=ArticleState.ARCHIVED, locale="de", author="agent:1",
                    summary="s", url_name="how")
    yield ResponseTemplate(P("canned_response", "1"), title="Hi", queue="team:dept-1")
    yield CustomObjectType(P("cot", "1"), name="asset", fields=[{"name": "serial"}])
    yield CustomObjectRecord(P("cor", "1"), type="custom_object_type:1", values={"serial": "x"})
    yield AutomationRule(P("filter", "1"), kind="filter", definition={"rules": []})


SAMPLES = list(_samples())


def test_the_samples_cover_every_record_type():
    assert {type(r) for r in SAMPLES} == set(RECORD_TYPES.values())
    assert set(RECORD_TYPES) == {o.value for o in ObjectType}


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: f"{r.OBJECT.value}-{r.provenance.id}")
def test_a_record_survives_staging_unchanged(record):
    staged = json.loads(json.dumps(record.to_dict()))
    assert staged["_type"] == record.OBJECT.value
    back = record_from_dict(staged)
    assert back == record and type(back) is type(record)
    assert type(record).from_dict(staged) == record
    line = encode_record(record)
    assert line.endswith(b"\n") and json.loads(line) == staged  # the struct encoder writes what to_dict says
    assert decode_record(line) == record


def test_a_staged_line_decodes_straight_into_its_class():
    lines = [encode_record(r) for r in SAMPLES] + [b"  \n"]
    back = list(decode_records(lines))
    assert [type(r) for r in back] == [type(r) for r in SAMPLES]
    assert list(records_from_dicts(r.to_dict() for r in SAMPLES)) == SAMPLES


def test_every_record_carries_provenance_flags_extra_and_external_ids():
    for cls in RECORD_TYPES.values():
        d = cls(Provenance("x", "y", "1")).to_dict()
        assert {"provenance", "flags", "extra", "external_ids"} <= set(d)
        assert set(d) - {"_type"} == set(cls.__struct_fields__)
        assert cls.__struct_config__.tag == cls.OBJECT.value


def test_mutable_defaults_are_not_shared():
    a, b = Ticket(P("ticket", "1")), Ticket(P("ticket", "2"))
    a.tags.append("x")
    a.flag("odd", "why")
    assert b.tags == [] and b.flags == []


def test_internal_visibility_and_enums_are_kept_through_staging():
    m = Message(P("thread_entry", "1"), visibility=Visibility.INTERNAL, direction=Direction.INBOUND)
    back = record_from_dict(m.to_dict())
    assert back.visibility is Visibility.INTERNAL and back.direction is Direction.INBOUND


def test_enum_values_are_the_names_staged_chunks_use():
    assert {k.value for k in TeamKind} == {"queue", "group"}
    assert {k.value for k in MessageKind} == {"customer", "agent", "system", "bot"}
    assert {d.value for d in Direction} == {"inbound", "outbound"}
    assert {s.value for s in ArticleState} == {"draft", "published", "archived"}
    assert {r.value for r in ContactRole} == {"user", "lead"}
    assert ObjectType.CATEGORY.value == "category" and ObjectType.TICKET_TYPE.value == "ticket_type"
    assert ObjectType.SATISFACTION_RATING.value == "satisfaction_rating"
    assert Team(P("department", "1")).kind is TeamKind.QUEUE
    assert Contact(P("user", "1")).role is ContactRole.USER
    assert KbArticle(P("faq", "1")).state is ArticleState.PUBLISHED
    assert Message(P("thread_entry", "1")).direction is None


def test_direction_follows_kind_and_visibility():
    assert direction_of(MessageKind.CUSTOMER, Visibility.PUBLIC) is Direction.INBOUND
    assert direction_of(MessageKind.AGENT, Visibility.PUBLIC) is Direction.OUTBOUND
    assert direction_of(MessageKind.AGENT, Visibility.INTERNAL) is None  # a note went nowhere
    assert direction_of(MessageKind.SYSTEM, Visibility.INTERNAL) is None


def test_keys():
    assert key(ObjectType.CATEGORY, 3) == "category:3" == Category(Provenance("x", "y", "3")).key
    assert split_key("team:dept-1") == ("team", "dept-1")
    assert model.Agent(P("staff", "1"), first_name="Ann", last_name="Lee").name == "Ann Lee"


def test_unknown_fields_are_refused():
    d = Contact(P("user", "1")).to_dict()
    d["surprise"] = 1
    with pytest.raises(ValueError, match="unknown field `surprise`"):
        record_from_dict(d)
    with pytest.raises(ValueError, match="unknown field"):
        Contact.from_dict(d)
    with pytest.raises(ValueError, match="surprise"):
        decode_record(json.dumps(d))


def test_v1_names_are_refused_not_dropped():
    v1 = Ticket(P("ticket", "1")).to_dict()
    v1["help_topic"] = "help_topic:1"
    with pytest.raises(ValueError, match="help_topic"):
        record_from_dict(v1)
    with pytest.raises(ValueError, match="_type"):
        decode_record(b'{"_type": "help_topic", "provenance": {"system": "x", "object": "y", "id": "1"}}')


def test_a_wrong_type_or_a_bad_enum_value_is_a_clear_error():
    d = Message(P("thread_entry", "1")).to_dict()
    with pytest.raises(ValueError, match="kind"):
        record_from_dict({**d, "kind": "robot"})
    with pytest.raises(ValueError, match="not a canonical record"):
        record_from_dict({"name": "no type"})
    with pytest.raises(ValueError, match="Message"):
        Message.from_dict({**d, "_type": "ticket"})  # a staged dict of another class


def test_errors_are_value_errors_not_library_errors():
    with pytest.raises(ValueError) as info:
        record_from_dict({**Tag(P("tag", "1")).to_dict(), "name": 5})
    assert not isinstance(info.value, msgspec.ValidationError)


def test_a_stage_of_another_schema_version_is_refused_naming_both_versions():
    assert SCHEMA_VERSION == 2
    check_schema_version(SCHEMA_VERSION, "extract/ticket/t-1.jsonl.gz")  # the current one passes
    with pytest.raises(StageSchemaError, match=r"extract/ticket/t-1.jsonl.gz .* version 1, .* version 2"):
        check_schema_version(None, "extract/ticket/t-1.jsonl.gz")  # written before versions were recorded
    with pytest.raises(StageSchemaError, match="version 3"):
        check_schema_version(3, "x")
