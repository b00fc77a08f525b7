"""The generic mapping engine on its own: a small destination-neutral mapping, no Salesforce code."""

from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from hdm.mapping.engine import CustomTarget, MappingEngine, MappingError
from hdm.mapping.model import Mapping
from hdm.model import Provenance, StatusState, Ticket

DOC = {
    "format": "hdm-mapping/1", "version": "1", "pair": {"source": "any", "destination": "desk"},
    "objects": {"ticket": {"target": "Conversation", "external_id": "ext", "fields": {
        "title": {"from": "subject", "max_length": 10},
        "state": {"from": ["status", "status_state"], "value_map": "state", "required": True},
        "prio": {"from": "priority", "value_map": "prio"},
        "opened": {"from": "created_at", "transform": "datetime"},
        "who": {"from": "name", "transform": "last_name", "required": True, "default": "(none)"},
        "created": {"from": "created_at", "transform": "datetime", "when_audit_fields": "allowed"},
    }}},
    "value_maps": {
        "state": {"values": {"open": "open", "archived": {"to": "closed", "lossy": True, "note": "no archive"}},
                  "default": {"to": "open", "lossy": True, "note": "unknown state"}},
        "prio": {"values": {"low": "low"}},
    },
    "custom_fields": {"targets": {"ticket": "Conversation"}, "prefix": "cf_"},
}


@dataclass
class Rec:
    key: str = "ticket:1"
    subject: Optional[str] = None
    status: Optional[str] = None
    status_state: Any = None
    priority: Optional[str] = None
    created_at: Optional[str] = None
    name: Optional[str] = None
    custom: dict[str, Any] = field(default_factory=dict)


def engine(**transforms):
    return MappingEngine(Mapping.from_document(DOC), {"datetime": lambda v: f"T<{v}>", **transforms})


def run(rec, eng=None):
    eng = eng or engine()
    row: dict[str, Any] = {}
    flags: list[dict[str, Any]] = []
    eng.map_fields(rec, eng.mapping.object_map("ticket"), row, flags)
    return row, flags


def test_field_maps_apply_transforms_and_destination_transforms():
    row, flags = run(Rec(subject="Hi", status="open", priority="low", created_at="2024", name="Mary Ann Smith"))
    assert row == {"title": "Hi", "state": "open", "prio": "low", "opened": "T<2024>", "who": "Smith",
                   "_audit": {"created": {"when": "allowed", "value": "T<2024>"}}}
    assert flags == []


def test_a_lossy_value_is_flagged_with_source_value_target_and_note():
    row, flags = run(Rec(status="ARCHIVED", name="x"))
    assert row["state"] == "closed"
    assert flags == [{"source_key": "ticket:1", "code": "lossy_value", "field": "state", "severity": "warning",
                      "reason": "'ARCHIVED' -> 'closed': no archive"}]


def test_an_unknown_value_takes_the_default_and_is_flagged_lossy():
    row, flags = run(Rec(status="weird", name="x"))
    assert row["state"] == "open"
    assert [f["reason"] for f in flags] == ["'weird' -> 'open': unknown state"]


def test_the_first_candidate_found_wins():
    row, _ = run(Rec(status="custom-name", status_state="archived", name="x"))
    assert row["state"] == "closed"
    row, _ = run(Rec(status="open", status_state="archived", name="x"))
    assert row["state"] == "open"


def test_an_enum_candidate_is_read_by_its_value():
    # a custom status name unknown to the map falls back to its state (archived → closed), not to the default
    row, flags = run(Rec(status="custom-name", status_state=StatusState.ARCHIVED, name="x"))
    assert row["state"] == "closed"
    # the custom name itself does not arrive: said, with what decided instead
    assert [f["reason"] for f in flags if f["code"] == "lossy_value"] == [
        "'custom-name' -> 'closed': not in value map state; mapped by 'archived'"]


def test_an_empty_value_gets_the_value_maps_default_flagged_defaulted_not_lossy():
    row, flags = run(Rec(name="x"))
    assert row["state"] == "open"
    assert flags == [{"source_key": "ticket:1", "code": "defaulted", "field": "state", "severity": "info",
                      "reason": "empty in the source; set to the mapping's default 'open'"}]


def test_a_value_not_in_a_map_without_default_is_lost_and_flagged():
    row, flags = run(Rec(status="open", priority="urgent", name="x"))
    assert row["prio"] is None
    assert flags[0]["code"] == "lossy_value" and "value not in value map prio" in flags[0]["reason"]


def test_long_text_is_truncated_and_an_empty_required_field_defaulted():
    row, flags = run(Rec(subject="x" * 25, status="open"))
    assert row["title"] == "x" * 10 and row["who"] == "(none)"
    assert [(f["code"], f["field"], f["reason"]) for f in flags] == [
        ("truncated", "title", "25 characters cut to 10"),
        ("defaulted", "who", "required field empty in the source; set to '(none)'")]


def test_a_transform_nobody_provides_is_a_clear_error_before_any_record():
    with pytest.raises(MappingError, match="transforms the destination does not provide: datetime"):
        MappingEngine(Mapping.from_document(DOC))


def test_custom_values_go_to_the_mappings_names_or_where_the_destination_resolves_them():
    eng = engine()  # a destination without a field vocabulary: custom fields are named prefix + name
    row: dict[str, Any] = {}
    flags: list[dict[str, Any]] = []
    rec = Rec(custom={"a": 1, "b": [1, 2]})
    eng.map_custom_fields(rec, "ticket", row, flags)
    assert row == {"cf_a": 1, "cf_b": [1, 2]} and flags == []

    def resolve(owner, name):
        return {"a": CustomTarget("A"), "b": CustomTarget(None, "not created")}[name]
    row, flags = {}, []
    eng.map_custom_fields(Rec(custom={"a": [1, 2], "b": "lost"}), "ticket", row, flags, resolve,
                          lambda v: ";".join(map(str, v)))
    assert row == {"A": "1;2"}
    assert flags == [{"source_key": "ticket:1", "code": "custom_value_not_migrated", "field": "b",
                      "severity": "warning", "reason": "custom field 'b': not created"}]


def test_an_empty_custom_value_or_one_carried_elsewhere_is_not_flagged():
    row, flags = {}, []
    engine().map_custom_fields(Rec(custom={"a": "", "b": "v"}), "ticket", row, flags,
                               lambda o, n: CustomTarget(None, "gone" if n == "a" else None))
    assert row == {} and flags == []


def test_a_canonical_ticket_maps_with_the_same_engine():
    t = Ticket(Provenance("x", "t", "1"), subject="Hello", status="open", priority="low")
    row, flags = run(t)
    assert row["state"] == "open" and row["title"] == "Hello" and row["who"] == "(none)"  # tickets have no name
