"""Every written value checked against its field's describe type the way a real org checks it, on REST (single
records, sObject Collections, upsert) and Bulk API 2.0 CSV, through unmodified simple-salesforce.

REST reads the JSON body into the field types first: a value it cannot read (a date that is not yyyy-MM-dd, a
date/time without T and zone, "yes" for a checkbox, a word for a number) refuses the whole request with 400
JSON_PARSER_ERROR and the position of the value. Values of the right type that do not fit the field (too many
digits, too long, not an e-mail address, not in a restricted picklist, not an id) fail that record with its code
and the field named. Bulk CSV fails the row: "INVALID_FIELD:Failed to deserialize field at col N. Due to, '…' is
not a valid value for the type xsd:date:Field__c --" or "CODE:message:Field__c --".
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

ISSUE_9_VALUE = "2025-03-16 00:00:00 UTC"  # osTicket's own storage of a date answer (issue #9)


def value_set(*values):
    return {"restricted": True, "valueSetDefinition": {
        "sorted": False, "value": [{"fullName": v, "label": v, "default": False} for v in values]}}


PROBES = {
    "Due_On__c": {"type": "Date"},
    "Seen_At__c": {"type": "DateTime"},
    "Vip__c": {"type": "Checkbox", "defaultValue": "false"},
    "Units__c": {"type": "Number", "precision": 5, "scale": 2},
    "Fee__c": {"type": "Currency", "precision": 6, "scale": 2},
    "Share__c": {"type": "Percent", "precision": 5, "scale": 2},
    "Reach__c": {"type": "Email"},
    "Code__c": {"type": "Text", "length": 10},
    "Tel__c": {"type": "Phone"},
    "Site__c": {"type": "Url"},
    "Tier__c": {"type": "Picklist", "valueSet": value_set("Gold", "Silver")},
    "Partner__c": {"type": "Lookup", "referenceTo": "Account", "relationshipName": "Partner"},
}


@pytest.fixture
def probe(sf):
    for name, metadata in PROBES.items():
        body = {"FullName": f"Case.{name}", "Metadata": {"label": name[:-3], **metadata}}
        assert sf.restful("tooling/sobjects/CustomField", method="POST", json=body)["success"]
    return sf


def case_count(sf):
    return sf.query("SELECT COUNT() FROM Case")["totalSize"]


def refused(sf, record):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Case.create({"Subject": "probe", **record})
    return info.value.content[0]


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def col(failed_row, field):
    """The 0-based column of ``field`` in the uploaded CSV (failedResults: sf__Id, sf__Error, then the columns)."""
    return list(failed_row).index(field) - 2


def bulk_insert(sf, records):
    result = sf.bulk2.Case.insert(records=records, wait=0)[0]
    return rows(sf.bulk2.Case.get_successful_records(result["job_id"])), \
        rows(sf.bulk2.Case.get_failed_records(result["job_id"]))


# ----- issue #9 ---------------------------------------------------------------------------------------------------
def test_issue_9_a_case_with_a_zoned_text_in_a_date_field_is_refused_naming_the_value_and_where_it_is(probe):
    """hdm's value check bypassed: the Case goes to the emulator as osTicket stored the answer."""
    record = {"Subject": "probe", "Due_On__c": ISSUE_9_VALUE}
    with pytest.raises(SalesforceMalformedRequest) as info:
        probe.Case.create(record)
    error = info.value.content[0]
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert error["message"].startswith(f"Cannot deserialize instance of date from VALUE_STRING value {ISSUE_9_VALUE}"
                                       " or request may be missing a required field at [line:1, column:")
    column = int(error["message"].rsplit("column:", 1)[1].rstrip("]"))
    body = json.dumps(record)  # what simple-salesforce sends
    assert body[:column - 1].endswith(f'"Due_On__c": "{ISSUE_9_VALUE}"')  # the position names the field
    assert case_count(probe) == 0  # the whole Case was refused


def test_issue_9_the_same_value_fails_the_bulk_row_naming_the_field(probe):
    ok, failed = bulk_insert(probe, [{"Subject": "a", "Due_On__c": ISSUE_9_VALUE},
                                     {"Subject": "b", "Due_On__c": "2025-03-16"}])
    assert [r["Subject"] for r in ok] == ["b"]
    at = col(failed[0], "Due_On__c")
    assert failed[0]["sf__Error"] == (f"INVALID_FIELD:Failed to deserialize field at col {at}. Due to, "
                                      f"'{ISSUE_9_VALUE}' is not a valid value for the type xsd:date:Due_On__c --")


def test_issue_9_a_collection_with_the_value_is_refused_whole_and_nothing_is_written(probe):
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Case"}, "Subject": "fine", "Due_On__c": "2025-03-16"},
        {"attributes": {"type": "Case"}, "Subject": "bad", "Due_On__c": ISSUE_9_VALUE}]}
    with pytest.raises(SalesforceMalformedRequest) as info:
        probe.restful("composite/sobjects", method="POST", json=body)
    assert info.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert ISSUE_9_VALUE in info.value.content[0]["message"]
    assert case_count(probe) == 0


# ----- REST: what each type reads ---------------------------------------------------------------------------------
ACCEPTED = [
    ("Due_On__c", "2025-03-16", "2025-03-16"),
    ("Seen_At__c", "2025-03-16T14:30:00Z", "2025-03-16T14:30:00.000+0000"),
    ("Seen_At__c", "2025-03-16T14:30:00.123Z", "2025-03-16T14:30:00.123+0000"),
    ("Seen_At__c", "2025-03-16T16:30:00+02:00", "2025-03-16T14:30:00.000+0000"),
    ("Seen_At__c", "2025-03-16T16:30:00.000+0200", "2025-03-16T14:30:00.000+0000"),
    ("Vip__c", True, True),
    ("Vip__c", "true", True),
    ("Units__c", 123.456, 123.46),  # rounded to the field's scale
    ("Units__c", "-999.99", -999.99),
    ("Fee__c", 9999.99, 9999.99),
    ("Share__c", 12.5, 12.5),
    ("Reach__c", "ana@example.org", "ana@example.org"),
    ("Code__c", "x" * 10, "x" * 10),
    ("Tel__c", "+1 (555) 010-0000 ext. 7", "+1 (555) 010-0000 ext. 7"),  # phone and URL: any text within length
    ("Site__c", "example.org/help", "example.org/help"),
    ("Tier__c", "Gold", "Gold"),
]


@pytest.mark.parametrize(("field", "value", "stored"), ACCEPTED, ids=[f"{a[0]}={a[1]!r}" for a in ACCEPTED])
def test_rest_accepts_the_forms_a_real_org_reads(probe, field, value, stored):
    new = probe.Case.create({"Subject": "probe", field: value})
    assert probe.Case.get(new["id"])[field] == stored


UNREADABLE = [
    ("Due_On__c", "2025-03-16T00:00:00Z", "date from VALUE_STRING value 2025-03-16T00:00:00Z"),
    ("Due_On__c", "16/03/2025", "date from VALUE_STRING value 16/03/2025"),
    ("Due_On__c", "2025-02-30", "date from VALUE_STRING value 2025-02-30"),
    ("Due_On__c", 20250316, "date from VALUE_NUMBER_INT value 20250316"),
    ("Seen_At__c", "2025-03-16 14:30:00 UTC", "datetime from VALUE_STRING value 2025-03-16 14:30:00 UTC"),
    ("Seen_At__c", "2025-03-16", "datetime from VALUE_STRING value 2025-03-16"),
    ("Seen_At__c", "2025-03-16T14:30:00", "datetime from VALUE_STRING value 2025-03-16T14:30:00"),
    ("Seen_At__c", "2025-03-16T14:30Z", "datetime from VALUE_STRING value 2025-03-16T14:30Z"),
    ("Vip__c", "yes", "boolean from VALUE_STRING value yes"),
    ("Vip__c", 1, "boolean from VALUE_NUMBER_INT value 1"),
    ("Units__c", "many", "double from VALUE_STRING value many"),
    ("Units__c", "1,234", "double from VALUE_STRING value 1,234"),
    ("Fee__c", True, "double from VALUE_TRUE value true"),
    ("Code__c", {"a": 1}, "string from START_OBJECT value {"),
]


@pytest.mark.parametrize(("field", "value", "why"), UNREADABLE, ids=[f"{u[0]}={u[1]!r}" for u in UNREADABLE])
def test_rest_refuses_the_whole_request_when_a_value_cannot_be_read_as_its_type(probe, field, value, why):
    error = refused(probe, {field: value})
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert error["message"].startswith(f"Cannot deserialize instance of {why} or request may be missing")
    assert "fields" not in error
    assert case_count(probe) == 0


OUT_OF_BOUNDS = [
    ("Units__c", 1000, "NUMBER_OUTSIDE_VALID_RANGE", "Units: value outside of valid range on numeric field: 1000"),
    ("Units__c", "999.999", "NUMBER_OUTSIDE_VALID_RANGE", "value outside of valid range"),  # rounds to 1000.00
    ("Fee__c", 12345.5, "NUMBER_OUTSIDE_VALID_RANGE", "value outside of valid range"),
    ("Share__c", -1000, "NUMBER_OUTSIDE_VALID_RANGE", "value outside of valid range"),
    ("Reach__c", "ana at example.org", "INVALID_EMAIL_ADDRESS", "invalid email address"),
    ("Code__c", "x" * 11, "STRING_TOO_LONG", "data value too large"),
    ("Tel__c", "5" * 41, "STRING_TOO_LONG", "max length=40"),
    ("Site__c", "u" * 256, "STRING_TOO_LONG", "max length=255"),
    ("Tier__c", "Bronze", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value for restricted picklist field"),
    ("Partner__c", "not-an-id", "MALFORMED_ID", "id value of incorrect type"),
    ("Partner__c", "001000000000000AAAXYZ", "MALFORMED_ID", "id value of incorrect type"),
]


@pytest.mark.parametrize(("field", "value", "code", "message"), OUT_OF_BOUNDS,
                         ids=[f"{o[0]}-{o[2]}" for o in OUT_OF_BOUNDS])
def test_rest_refuses_a_value_that_does_not_fit_its_field_with_its_code_naming_the_field(probe, field, value, code,
                                                                                          message):
    error = refused(probe, {field: value})
    assert (error["errorCode"], error["fields"]) == (code, [field])
    assert message in error["message"]
    assert case_count(probe) == 0


def test_an_int_field_takes_its_digits_and_no_more(probe):
    account = probe.Account.create({"Name": "Acme", "NumberOfEmployees": 99999999})  # digits 8 (recorded)
    assert probe.Account.get(account["id"])["NumberOfEmployees"] == 99999999
    with pytest.raises(SalesforceMalformedRequest) as info:
        probe.Account.create({"Name": "Acme", "NumberOfEmployees": 123456789})
    assert (info.value.content[0]["errorCode"], info.value.content[0]["fields"]) == ("NUMBER_OUTSIDE_VALID_RANGE",
                                                                                    ["NumberOfEmployees"])


def test_update_and_upsert_check_values_the_same_way(probe):
    body = {"FullName": "Case.Legacy__c", "Metadata": {"label": "Legacy", "type": "Text", "length": 20,
                                                       "externalId": True, "unique": True}}
    probe.restful("tooling/sobjects/CustomField", method="POST", json=body)
    new = probe.Case.create({"Subject": "probe", "Due_On__c": "2025-03-16"})
    with pytest.raises(SalesforceMalformedRequest) as info:
        probe.Case.update(new["id"], {"Due_On__c": ISSUE_9_VALUE})
    assert info.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"
    with pytest.raises(SalesforceMalformedRequest) as info:
        probe.Case.upsert("Legacy__c/L-1", {"Subject": "s", "Units__c": 5000})
    assert info.value.content[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert probe.Case.get(new["id"])["Due_On__c"] == "2025-03-16"
    assert case_count(probe) == 1


def test_a_collection_fails_only_the_record_whose_value_does_not_fit(probe):
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Case"}, "Subject": "fine", "Units__c": 12.5},
        {"attributes": {"type": "Case"}, "Subject": "big", "Units__c": 12345},
        {"attributes": {"type": "Case"}, "Subject": "mail", "Reach__c": "nobody"}]}
    out = probe.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in out] == [True, False, False]
    assert [(r["errors"][0]["statusCode"], r["errors"][0]["fields"]) for r in out[1:]] == [
        ("NUMBER_OUTSIDE_VALID_RANGE", ["Units__c"]), ("INVALID_EMAIL_ADDRESS", ["Reach__c"])]


def test_a_collection_upsert_with_an_unreadable_value_is_refused_whole(probe):
    body = {"FullName": "Case.Legacy__c", "Metadata": {"label": "Legacy", "type": "Text", "length": 20,
                                                       "externalId": True, "unique": True}}
    probe.restful("tooling/sobjects/CustomField", method="POST", json=body)
    records = [{"attributes": {"type": "Case"}, "Legacy__c": f"L-{i}", "Subject": "s", "Vip__c": v}
               for i, v in enumerate([True, "no"])]
    with pytest.raises(SalesforceMalformedRequest) as info:
        probe.restful("composite/sobjects/Case/Legacy__c", method="PATCH",
                      json={"allOrNone": False, "records": records})
    assert info.value.content[0]["message"].startswith("Cannot deserialize instance of boolean from VALUE_STRING "
                                                       "value no")
    assert case_count(probe) == 0


# ----- Bulk API 2.0 CSV ---------------------------------------------------------------------------------------------
BULK_ACCEPTED = [
    ("Due_On__c", "2025-03-16", "2025-03-16"),
    ("Due_On__c", "2025-03-16Z", "2025-03-16"),  # older Bulk docs show dates with a Z
    ("Seen_At__c", "2025-03-16T14:30:00.000Z", "2025-03-16T14:30:00.000+0000"),
    ("Seen_At__c", "2025-03-16T16:30:00+02:00", "2025-03-16T14:30:00.000+0000"),
    ("Vip__c", "true", True),
    ("Vip__c", "0", False),  # xsd:boolean reads 1 and 0
    ("Units__c", "-12.345", -12.35),
    ("Tier__c", "Silver", "Silver"),
]


@pytest.mark.parametrize(("field", "value", "stored"), BULK_ACCEPTED, ids=[f"{a[0]}={a[1]}" for a in BULK_ACCEPTED])
def test_bulk_accepts_the_forms_a_real_org_reads(probe, field, value, stored):
    ok, failed = bulk_insert(probe, [{"Subject": "probe", field: value}])
    assert failed == [] and len(ok) == 1
    assert probe.Case.get(ok[0]["sf__Id"])[field] == stored


BULK_REFUSED = [
    ("Due_On__c", ISSUE_9_VALUE, "INVALID_FIELD:Failed to deserialize field at col {col}. Due to, "
     f"'{ISSUE_9_VALUE}' is not a valid value for the type xsd:date:Due_On__c --"),
    ("Seen_At__c", "2025-03-16", "INVALID_FIELD:Failed to deserialize field at col {col}. Due to, '2025-03-16' is not "
     "a valid value for the type xsd:dateTime:Seen_At__c --"),
    ("Vip__c", "yes", "INVALID_FIELD:Failed to deserialize field at col {col}. Due to, 'yes' is not a valid "
     "value for the type xsd:boolean:Vip__c --"),
    ("Units__c", "1,234", "INVALID_FIELD:Failed to deserialize field at col {col}. Due to, '1,234' is not a valid "
     "value for the type xsd:double:Units__c --"),
    ("Units__c", "1234", "NUMBER_OUTSIDE_VALID_RANGE:Units: value outside of valid range on numeric field: 1234:"
     "Units__c --"),
    ("Reach__c", "nobody", "INVALID_EMAIL_ADDRESS:"),
    ("Code__c", "y" * 11, "STRING_TOO_LONG:"),
    ("Tier__c", "Bronze", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:"),
    ("Partner__c", "nope", "MALFORMED_ID:"),
]


@pytest.mark.parametrize(("field", "value", "error"), BULK_REFUSED, ids=[f"{b[0]}={b[1]}" for b in BULK_REFUSED])
def test_bulk_fails_the_row_with_the_code_and_the_field(probe, field, value, error):
    ok, failed = bulk_insert(probe, [{"Subject": "probe", field: value}, {"Subject": "fine"}])
    assert [r["Subject"] for r in ok] == ["fine"]
    assert failed[0]["sf__Error"].startswith(error.replace("{col}", str(col(failed[0], field))))
    assert failed[0]["sf__Error"].endswith(f":{field} --")
    assert failed[0][field] == value  # the original columns come back


def test_bulk_update_and_upsert_check_values_the_same_way(probe):
    body = {"FullName": "Case.Legacy__c", "Metadata": {"label": "Legacy", "type": "Text", "length": 20,
                                                       "externalId": True, "unique": True}}
    probe.restful("tooling/sobjects/CustomField", method="POST", json=body)
    new = probe.Case.create({"Subject": "probe", "Legacy__c": "L-1", "Vip__c": True})
    up = probe.bulk2.Case.upsert(records=[{"Legacy__c": "L-1", "Seen_At__c": "2025-03-16 14:30:00 UTC"},
                                          {"Legacy__c": "L-2", "Seen_At__c": "2025-03-16T14:30:00Z"}],
                                 external_id_field="Legacy__c", wait=0)[0]
    failed = rows(probe.bulk2.Case.get_failed_records(up["job_id"]))
    assert [(r["Legacy__c"], r["sf__Error"].split(":")[0]) for r in failed] == [("L-1", "INVALID_FIELD")]
    assert failed[0]["sf__Error"].endswith("xsd:dateTime:Seen_At__c --")
    upd = probe.bulk2.Case.update(records=[{"Id": new["id"], "Vip__c": "no"}], wait=0)[0]
    failed = rows(probe.bulk2.Case.get_failed_records(upd["job_id"]))
    assert failed[0]["sf__Error"].endswith("xsd:boolean:Vip__c --")
    assert probe.Case.get(new["id"])["Vip__c"] is True and probe.Case.get(new["id"])["Seen_At__c"] is None
