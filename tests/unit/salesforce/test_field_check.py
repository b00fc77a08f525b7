"""The value checks the loader runs before every write, against a describe (no org needed)."""

from __future__ import annotations

import pytest
from hdm.destinations.salesforce.bulk_csv import bulk_error_fields
from hdm.destinations.salesforce.field_check import FieldChecker, fields_named_by


def fld(name, ftype, length=0, **kw):
    return {"name": name, "type": ftype, "length": length, "nillable": kw.pop("nillable", True), "createable": True,
            "defaultedOnCreate": False, **kw}


DESCRIBE = {"fields": [
    fld("Due__c", "date"), fld("Seen__c", "datetime"), fld("Mail__c", "email", 80), fld("Site__c", "url", 255),
    fld("Phone__c", "phone", 40), fld("Note__c", "string", 10), fld("Amount__c", "currency", precision=6, scale=2),
    fld("Share__c", "percent", precision=5, scale=2), fld("Count__c", "double", precision=3, scale=0),
    fld("Flag__c", "boolean", nillable=False),
    fld("Level__c", "picklist", 255, restrictedPicklist=True,
        picklistValues=[{"value": "High", "active": True}, {"value": "Low", "active": True}]),
    fld("Tags__c", "multipicklist", 4099, restrictedPicklist=True,
        picklistValues=[{"value": "Red", "active": True}, {"value": "Blue", "active": True}]),
    fld("Name", "string", 80, nillable=False), fld("AccountId", "reference", 18),
]}


@pytest.mark.parametrize("field, value, code, loaded", [
    ("Due__c", "2025-03-16 00:00:00 UTC", "value_converted", "2025-03-16"),
    ("Due__c", "16/03/2025 maybe", "value_not_loaded", None),
    ("Due__c", "2025-02-30", "value_not_loaded", None),
    ("Seen__c", "2025-03-16 14:30:00 +02:00", "value_converted", "2025-03-16T12:30:00.000Z"),
    ("Seen__c", 1742135400, "value_converted", "2025-03-16T14:30:00.000Z"),
    ("Mail__c", "not an address", "value_not_loaded", None),
    ("Mail__c", " ann@example.test ", "value_converted", "ann@example.test"),
    ("Site__c", "two words", "value_not_loaded", None),
    ("Note__c", "abcdefghijKLM", "value_truncated", "abcdefghij"),
    ("Amount__c", "$1,234.50", "value_converted", 1234.5),
    ("Amount__c", "12345.00", "value_not_loaded", None),  # 5 digits before the point; the field holds 4
    ("Amount__c", 12.345, "value_truncated", 12.35),
    ("Share__c", "15 %", "value_converted", 15.0),
    ("Count__c", "many", "value_not_loaded", None),
    ("Flag__c", "Yes", "value_converted", True),
    ("Flag__c", "perhaps", "value_not_loaded", None),
    ("Level__c", " high ", "value_converted", "High"),
    ("Level__c", "Urgent", "value_not_loaded", None),
    ("Tags__c", "red;Blue;Green", "value_not_loaded", "Red;Blue"),
])
def test_a_value_its_field_cannot_take_is_converted_cut_or_left_empty_and_flagged(field, value, code, loaded):
    row = {field: value}
    flags = []
    FieldChecker("Case", DESCRIBE).check_row({"_source_key": "ticket:1", "Name": "n", **row} | {"_x": 1},
                                             flags.append)
    assert [(f["code"], f["field"], f["original"], f["loaded_as"]) for f in flags] == [(code, field, value, loaded)]


def test_row_values_are_changed_in_place_and_good_values_are_left_alone():
    row = {"_source_key": "ticket:1", "Name": "n", "Due__c": "nope", "Seen__c": "2025-03-16T14:30:00.000Z",
           "Amount__c": 12.5, "Flag__c": False, "Level__c": "High", "AccountId": "weird", "Unknown__c": "x"}
    flags = []
    FieldChecker("Case", DESCRIBE).check_row(row, flags.append)
    assert row["Due__c"] is None and [f["field"] for f in flags] == ["Due__c"]
    assert row["Seen__c"] == "2025-03-16T14:30:00.000Z" and row["AccountId"] == "weird"


def test_a_required_field_left_empty_is_flagged():
    flags = []
    FieldChecker("Case", DESCRIBE).check_row({"_source_key": "t", "Name": None}, flags.append)
    assert [f["code"] for f in flags] == ["required_value_missing"]


def test_the_fields_an_org_error_names():
    assert bulk_error_fields("FIELD_CUSTOM_VALIDATION_EXCEPTION:Region is not served:Region__c") == ("Region__c",)
    assert bulk_error_fields("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --") == ("Name",)
    assert bulk_error_fields("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:") == ()
    assert fields_named_by([], "bad value for [Region__c]", {"Region__c": "x"}) == ["Region__c"]
    assert fields_named_by(["Other__c"], None, {"Region__c": "x"}) == []


def test_an_object_the_org_will_not_describe_is_sent_unchecked():
    from types import SimpleNamespace

    from hdm.destinations.salesforce import SalesforceDestination
    from simple_salesforce.exceptions import SalesforceError

    class NoDescribe:
        def describe(self, obj):
            raise SalesforceError("https://127.0.0.1/x", 403, obj, [{"errorCode": "INSUFFICIENT_ACCESS"}])

    dest = SalesforceDestination(lambda: None)
    dest.api = lambda: NoDescribe()
    run = SimpleNamespace(result=SimpleNamespace(flags=[]))
    rows = [{"_source_key": "event:1", "_object": "Custom_Event__c", "When__c": "not a date"}]
    dest._check_values(run, rows)
    assert rows[0]["When__c"] == "not a date" and run.result.flags == []


# -- no value of any type can raise out of the checker -------------------------------------------------------------
NUMBERS = {"fields": [fld("Money__c", "currency", precision=18, scale=2), fld("Real__c", "double", precision=18,
                                                                               scale=0),
                      fld("Bare__c", "double"), fld("Whole__c", "int", digits=9), fld("Big__c", "long", digits=18)]}


@pytest.mark.parametrize("field, value", [
    ("Money__c", "1e30"), ("Money__c", "1" * 27), ("Money__c", 10 ** 30), ("Money__c", "9" * 17),
    ("Real__c", "1e5000"), ("Real__c", "-1E+400"), ("Bare__c", "1e19"), ("Whole__c", "1" * 10),
    ("Big__c", "9" * 5000), ("Money__c", 10 ** 5000),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else type(v).__name__)
def test_a_number_out_of_the_fields_range_is_left_empty_and_flagged_not_a_crash(field, value):
    row = {"_source_key": "ticket:1", field: value}
    flags = []
    FieldChecker("Case", NUMBERS).check_row(row, flags.append)
    assert row[field] is None
    assert [(f["code"], f["field"]) for f in flags] == [("value_not_loaded", field)]
    kept = flags[0]["original"]
    if isinstance(value, str):
        assert kept == value or kept.startswith(value[:1000]) and kept.endswith(f"({len(value)} characters)")
    else:
        assert kept == value if value.bit_length() < 4000 else "bits" in kept
    assert "digits before the decimal point" in flags[0]["reason"] or "not a number" in flags[0]["reason"]


def test_numbers_within_the_fields_range_still_load():
    row = {"_source_key": "t", "Money__c": "9" * 16 + ".994", "Real__c": "1e17", "Whole__c": "999999999",
           "Big__c": "9" * 18}
    flags = []
    FieldChecker("Case", NUMBERS).check_row(row, flags.append)
    assert row == {"_source_key": "t", "Money__c": float("9" * 16 + ".99"), "Real__c": 1e17,
                   "Whole__c": 999999999, "Big__c": int("9" * 18)}
    assert {f["code"] for f in flags} <= {"value_converted", "value_truncated"}
    # rounding that carries into a digit the field does not have empties the field instead
    carried = {"_source_key": "t", "Money__c": "9" * 16 + ".996"}
    FieldChecker("Case", NUMBERS).check_row(carried, flags.append)
    assert carried["Money__c"] is None and flags[-1]["code"] == "value_not_loaded"


ODD_VALUES = [
    "", " ", "\x00", "\u00a0", "NaN", "nan", "-inf", "Infinity", "sNaN", "1e30", "1e5000", "-1e-5000", "0E+5000",
    "1" * 27, "9" * 5000, "1" * 40 + ".5", "0." + "1" * 400, "1,2,3", "1,234,567.891", "$", "%", "€-12", "--1", "+",
    "½", "²²²²²²²²²", "٣٤٥", "𝟙𝟚𝟛", "0x1f", "1_000", "  12  ", "1e", ".", "-.5e-3", "2025-13-45", "0000-00-00",
    "2025-03-16T25:61:61Z", "9999-12-31T23:59:59+14:00", "2025-03-16 00:00:00 +99:99", "T", "Z", "99999999999999999",
    "true", "FALSE", "checked", "x" * 100_000, "a;b;;c;" * 50, "é" * 300, "\U0001F600" * 50, "<script>", "'; --",
    "ann@", "@x.y", "a b@c.d", "http://", "\r\n", 0, -1, 1, 2, 1.5, -0.0, float("nan"), float("inf"), float("-inf"),
    10 ** 30, 10 ** 5000, -(10 ** 400), 2 ** 63, True, False, [], {}, [1, 2], {"a": 1}, object(), b"bytes",
    ("t",), {1, 2},
]
ALL_TYPES = ["string", "textarea", "phone", "url", "email", "encryptedstring", "combobox", "picklist", "multipicklist",
             "boolean", "date", "datetime", "double", "currency", "percent", "int", "long", "reference", "id",
             "base64", "anyType", "address", "location", "time", "something_new"]


def _random_odd_values(count: int) -> list:
    """Seeded random texts and numbers (a property-style sweep without a fuzzing library)."""
    import random

    rnd = random.Random(20261203)
    alphabet = "0123456789eE+-.,$%€ \u00a0;:TZ/\\x\t\n¼٣𝟙"
    out: list = []
    for _ in range(count):
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))))
        out.append(rnd.choice([1, -1]) * rnd.random() * 10.0 ** rnd.randint(-300, 300)
                   if rnd.random() < 0.5 else rnd.randint(-(10 ** 60), 10 ** 60))
    return out


@pytest.mark.parametrize("ftype", ALL_TYPES)
def test_no_value_raises_out_of_the_checker_for_any_field_type(ftype):
    import json

    metas = [fld("F", ftype, 40, precision=18, scale=2, restrictedPicklist=True,
                 picklistValues=[{"value": "High", "active": True}]),
             fld("F", ftype)]  # and with a describe that gives no length, precision or picklist
    for meta in metas:
        checker = FieldChecker("Case", {"fields": [meta]})
        for value in ODD_VALUES + _random_odd_values(150):
            row = {"_source_key": "t", "F": value}
            flags = []
            checker.check_row(row, flags.append)
            assert len(flags) <= 1
            if flags:
                assert flags[0]["code"] in {"value_not_loaded", "value_truncated", "value_converted"}
                json.dumps(flags[0], default=repr)  # the report can write the flag
            out = row["F"]
            if ftype in ("double", "currency", "percent") and out is not None and not flags:
                assert out == value
            elif ftype in ("double", "currency", "percent") and out is not None:
                assert isinstance(out, float) and abs(out) < 10 ** 18
            if ftype in ("int", "long") and out is not None and flags:
                assert isinstance(out, int) and abs(out) < 10 ** 18


def test_a_checker_failure_leaves_that_field_empty_and_flagged_and_the_rest_checked(monkeypatch):
    checker = FieldChecker("Case", DESCRIBE)
    real = checker.check_value

    def fails_on_note(meta, value):
        if meta["name"] == "Note__c":
            raise RuntimeError("unexpected")
        return real(meta, value)

    monkeypatch.setattr(checker, "check_value", fails_on_note)
    row = {"_source_key": "t", "Name": "n", "Note__c": "hello", "Due__c": "nope"}
    flags = []
    checker.check_row(row, flags.append)
    assert row["Note__c"] is None and row["Due__c"] is None and row["Name"] == "n"
    assert sorted((f["field"], f["code"], f["original"]) for f in flags) == [
        ("Due__c", "value_not_loaded", "nope"), ("Note__c", "value_not_loaded", "hello")]
    assert "could not be checked (RuntimeError)" in next(f["reason"] for f in flags if f["field"] == "Note__c")
