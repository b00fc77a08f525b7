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
