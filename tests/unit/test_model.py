"""The canonical model round-trips through its staged JSON form without losing anything."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hdm.model import (
    RECORD_TYPES,
    Attachment,
    Contact,
    Message,
    MessageKind,
    Provenance,
    StatusState,
    Team,
    TeamKind,
    Ticket,
    Visibility,
    record_from_dict,
)


def _samples():
    prov = Provenance("osticket", "thread_entry", "42", "1.18")
    m = Message(prov, ticket="ticket:7", position=3, kind=MessageKind.AGENT, visibility=Visibility.INTERNAL,
                author="agent:2", body_html="<p>日本語 — ok</p>", attachments=["attachment:1"],
                recipients={"to": ["A <a@example.test>"]})
    m.flag("dangling_fk", "staff 99 is gone", field="staff_id")
    yield m
    yield Ticket(Provenance("osticket", "ticket", "7"), number="001", status_state=StatusState.ARCHIVED,
                 custom={"vip": True, "region": {"k": "EU"}}, collaborators=["contact:1"])
    yield Contact(Provenance("osticket", "user", "1"), name="Ann", email="ann@example.test", other_emails=["b@x.test"])
    yield Team(Provenance("osticket", "department", "3"), kind=TeamKind.TEAM, members=["agent:1"])
    yield Attachment(Provenance("osticket", "attachment", "5"), visibility=Visibility.INTERNAL, size=10)


@pytest.mark.parametrize("record", list(_samples()), ids=lambda r: r.OBJECT.value)
def test_a_record_survives_staging_unchanged(record):
    staged = json.loads(json.dumps(record.to_dict()))
    back = record_from_dict(staged)
    assert back == record
    assert type(back) is type(record)


def test_to_dict_matches_the_dataclass_fields_exactly():
    for cls in RECORD_TYPES.values():
        rec = cls(Provenance("x", "y", "1"))
        d = rec.to_dict()
        assert set(d) - {"_type"} == {f.name for f in dataclasses.fields(cls)}


def test_internal_visibility_is_kept_through_staging():
    m = Message(Provenance("osticket", "thread_entry", "1"), visibility=Visibility.INTERNAL)
    assert record_from_dict(m.to_dict()).visibility is Visibility.INTERNAL


def test_unknown_fields_are_refused():
    d = Contact(Provenance("x", "y", "1")).to_dict()
    d["surprise"] = 1
    with pytest.raises(ValueError, match="unknown fields"):
        record_from_dict(d)
