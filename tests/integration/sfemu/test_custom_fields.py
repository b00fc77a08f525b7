"""Custom fields created through the Tooling API: every type the loader sends, described and enforced like a
real org, through unmodified simple-salesforce."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def create_field(sf, full, **metadata):
    body = {"FullName": full, "Metadata": {"label": full.split(".")[1][:-3], **metadata}}
    return sf.restful("tooling/sobjects/CustomField", method="POST", json=body)


def value_set(*values, restricted=False):
    return {"restricted": restricted, "valueSetDefinition": {
        "sorted": False, "value": [{"fullName": v, "label": v, "default": False} for v in values]}}


def described(sf, obj="Case"):
    return {f["name"]: f for f in getattr(sf, obj).describe()["fields"]}


FIELD_TYPES = [
    ("Text", {"length": 80}, "string"),
    ("TextArea", {}, "textarea"),
    ("LongTextArea", {"length": 32768, "visibleLines": 5}, "textarea"),
    ("Html", {"length": 32768, "visibleLines": 10}, "textarea"),
    ("Checkbox", {"defaultValue": "false"}, "boolean"),
    ("Number", {"precision": 18, "scale": 2}, "double"),
    ("Currency", {"precision": 16, "scale": 2}, "currency"),
    ("Percent", {"precision": 5, "scale": 2}, "percent"),
    ("Date", {}, "date"),
    ("DateTime", {}, "datetime"),
    ("Email", {}, "email"),
    ("Phone", {}, "phone"),
    ("Url", {}, "url"),
    ("Picklist", {"valueSet": value_set("Red", "Green")}, "picklist"),
    ("MultiselectPicklist", {"visibleLines": 4, "valueSet": value_set("Red", "Green", "Blue")}, "multipicklist"),
    ("Lookup", {"referenceTo": "Account", "relationshipName": "Partner"}, "reference"),
]


@pytest.mark.parametrize(("metadata_type", "extra", "describe_type"), FIELD_TYPES, ids=[t[0] for t in FIELD_TYPES])
def test_every_custom_field_type_a_real_org_supports_is_created_and_described(sf, metadata_type, extra,
                                                                               describe_type):
    assert create_field(sf, "Case.Probe__c", type=metadata_type, **extra)["success"] is True
    field = described(sf)["Probe__c"]
    assert field["type"] == describe_type and field["custom"] is True
    if metadata_type == "LongTextArea":
        assert field["length"] == 32768 and field["extraTypeInfo"] == "plaintextarea"
    if metadata_type == "Html":
        assert field["htmlFormatted"] is True and field["extraTypeInfo"] == "richtextarea"
    if metadata_type == "Number":
        assert (field["precision"], field["scale"]) == (18, 2)


def test_a_multiselect_picklist_is_described_with_its_values_and_takes_semicolon_joined_choices(sf):
    create_field(sf, "Case.Product_Area__c", type="MultiselectPicklist", visibleLines=4,
                 valueSet=value_set("Billing", "Hardware", "Shipping"))
    field = described(sf)["Product_Area__c"]
    assert [p["value"] for p in field["picklistValues"]] == ["Billing", "Hardware", "Shipping"]
    assert field["restrictedPicklist"] is False
    case = sf.Case.create({"Subject": "x", "Product_Area__c": "Billing; Hardware;Billing"})["id"]
    assert sf.Case.get(case)["Product_Area__c"] == "Billing;Hardware"
    # unrestricted: a value the list does not have is kept, as in a real org
    other = sf.Case.create({"Subject": "y", "Product_Area__c": "Billing;Returns"})["id"]
    assert sf.Case.get(other)["Product_Area__c"] == "Billing;Returns"


def test_restricted_picklists_refuse_values_they_do_not_have(sf):
    create_field(sf, "Case.Tier__c", type="Picklist", valueSet=value_set("Gold", "Silver", restricted=True))
    create_field(sf, "Case.Tags__c", type="MultiselectPicklist", visibleLines=3,
                 valueSet=value_set("a", "b", restricted=True))
    fields = described(sf)
    assert fields["Tier__c"]["restrictedPicklist"] is True and fields["Tags__c"]["restrictedPicklist"] is True
    assert sf.Case.create({"Subject": "ok", "Tier__c": "Gold", "Tags__c": "a;b"})["success"]
    for bad in ({"Tier__c": "Bronze"}, {"Tags__c": "a;c"}):
        with pytest.raises(SalesforceMalformedRequest) as err:
            sf.Case.create({"Subject": "no", **bad})
        assert err.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    # the Bulk path enforces the same rule, row by row
    res = sf.bulk2.Case.insert(records=[{"Subject": "b1", "Tier__c": "Silver"}, {"Subject": "b2", "Tier__c": "Tin"}],
                               wait=0.01)[0]
    assert res["numberRecordsFailed"] == 1
    failed = sf.bulk2.Case.get_failed_records(res["job_id"])
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in failed


@pytest.mark.parametrize(("metadata", "problem"), [
    ({"type": "MultiselectPicklist", "valueSet": value_set("a")}, "Visible Lines"),
    ({"type": "Picklist"}, "valueSet"),
    ({"type": "Picklist", "valueSet": value_set("a", "A")}, "Duplicate picklist value"),
    ({"type": "LongTextArea", "length": 32768}, "Visible Lines"),
    ({"type": "Text", "length": 300}, "Length"),
    ({"type": "Number", "precision": 19}, "Precision"),
    ({"type": "Spreadsheet"}, "Unsupported custom field type"),
])
def test_metadata_a_real_org_refuses_is_refused_with_the_reason(sf, metadata, problem):
    with pytest.raises(SalesforceMalformedRequest) as err:
        create_field(sf, "Case.Bad__c", **metadata)
    assert problem in err.value.content[0]["message"]
    assert "Bad__c" not in described(sf)


def test_bulk_results_are_served_as_utf8_csv(sf):
    create_field(sf, "Case.Legacy__c", type="Text", length=40, externalId=True, unique=True)
    res = sf.bulk2.Case.insert(records=[{"Subject": "Grüße aus Köln — ok", "Legacy__c": "L-1"}], wait=0.01)[0]
    url = f"{sf.bulk2_url}ingest/{res['job_id']}/successfulResults"
    answer = sf.session.get(url, headers={"Authorization": f"Bearer {sf.session_id}"})
    assert answer.headers["Content-Type"].replace(" ", "").lower() == "text/csv;charset=utf-8"
    assert "Grüße aus Köln — ok" in answer.text
