"""Kayako custom-field values decode from Kayako's encodings by the field's API key (never its title); a bad
value costs only itself (kept raw, flagged) and a value of a deleted definition is flagged, not fatal."""

from __future__ import annotations

import pytest
from hdm.sources.kayako.values import FieldDef, decode, decode_all, field_def, translation


def _opt(oid: int, *labels: tuple[str, str]) -> dict:
    return {"id": oid, "values": [{"locale": loc, "translation": text} for loc, text in labels],
            "resource_type": "field_option"}


SELECT = field_def({"id": 12, "key": "region", "type": "SELECT", "title": "Region",
                    "options": [_opt(8, ("de", "EMEA-de"), ("en-us", "EMEA")), _opt(9, ("en-us", "APAC"))]})
CHECKBOX = field_def({"id": 10, "key": "affected_platforms", "type": "CHECKBOX", "title": "Platforms",
                      "options": [_opt(1, ("en-us", "Windows")), _opt(2, ("en-us", "macOS")),
                                  _opt(3, ("en-us", "Linux"))]})
CASCADE = field_def({"id": 17, "key": "product_area", "type": "CASCADINGSELECT", "title": "Area",
                     "options": [_opt(11, ("en-us", "Hardware")), _opt(12, ("en-us", "Hardware\\Printers"))]})


@pytest.mark.parametrize(("fd", "raw", "value"), [
    (SELECT, "8", "EMEA"),  # the option id → its English label (not the German one listed first)
    (CHECKBOX, "1,3", ["Windows", "Linux"]),
    (CHECKBOX, " 2 , 1 ", ["macOS", "Windows"]),
    (CASCADE, "12", "Hardware\\Printers"),  # the full path, levels separated by a backslash
    (FieldDef(16, "is_vip", "YESNO", "VIP?"), "yes", True),
    (FieldDef(16, "is_vip", "YESNO", "VIP?"), "no", False),
    (FieldDef(13, "purchase_date", "DATE", "Purchased"), "2017-05-28T00:00:00+00:00", "2017-05-28"),
    (FieldDef(14, "seats", "NUMERIC", "Seats"), "248", 248),
    (FieldDef(15, "refund", "DECIMAL", "Refund"), "64.62", 64.62),
    (FieldDef(8, "serial", "TEXT", "Serial"), "SN-1", "SN-1"),
    (FieldDef(9, "steps", "TEXTAREA", "Steps"), "a\nb", "a\nb"),
    (FieldDef(19, "receipt", "FILE", "Receipt"), "", None),
    (SELECT, "", None),
    (SELECT, None, None),
])
def test_values_decode_from_kayakos_encodings(fd, raw, value):
    got = decode(fd, raw)
    assert got.problem is None and got.value == value


@pytest.mark.parametrize(("fd", "raw", "kept"), [
    (SELECT, "99", "99"),
    (CHECKBOX, "1,77", ["Windows", "77"]),
    (FieldDef(16, "is_vip", "YESNO", "VIP?"), "maybe", "maybe"),
    (FieldDef(14, "seats", "NUMERIC", "Seats"), "12 seats", "12 seats"),
    (FieldDef(15, "refund", "DECIMAL", "Refund"), "a lot", "a lot"),
    (FieldDef(13, "purchase_date", "DATE", "Purchased"), "someday", "someday"),
    (FieldDef(1, "odd", "SOMETHINGNEW", "Odd"), "x", "x"),
])
def test_a_bad_value_is_kept_raw_with_its_problem(fd, raw, kept):
    got = decode(fd, raw)
    assert got.value == kept and got.problem


def test_records_address_fields_by_key_flag_bad_values_and_deleted_definitions():
    notes_a = {"id": 20, "key": "internal_notes", "type": "TEXT", "title": "Notes", "options": []}
    notes_b = {"id": 21, "key": "customer_notes", "type": "TEXT", "title": "Notes", "options": []}
    entries = [
        {"field": {"id": 12, "resource_type": "case_field"}, "value": "9"},  # options only in the listed defs
        {"field": notes_a, "value": "for agents"},
        {"field": notes_b, "value": "for customers"},  # same title, another key: both kept
        {"field": {"id": 14, "key": "seats", "type": "NUMERIC", "title": "Seats"}, "value": "many"},
        {"field": {"id": 22, "resource_type": "case_field"}, "value": "LC-0042"},  # definition deleted
        {"field": {"id": 3, "key": "priority", "type": "PRIORITY", "title": "Priority", "is_system": True},
         "value": "2"},
        "not a dict",
    ]
    got = decode_all(entries, {12: SELECT})
    assert got.custom == {"region": "APAC", "internal_notes": "for agents", "customer_notes": "for customers",
                          "seats": "many"}
    assert got.deleted == {"22": "LC-0042"}
    codes = sorted((code, fld) for code, _reason, fld, _sev in got.flags)
    assert codes == [("deleted_field", None), ("lossy_value", "custom.seats")]


def test_translation_prefers_the_asked_locale_then_english_then_the_first():
    values = [{"locale": "ja", "translation": "日本"}, {"locale": "en-us", "translation": "Japan"}]
    assert translation(values) == "Japan"
    assert translation(values, "ja") == "日本"
    assert translation([{"locale": "ja", "translation": "日本"}]) == "日本"
    assert translation([]) is None
    assert field_def({"id": 22, "resource_type": "case_field"}) is None  # a bare reference: no definition
