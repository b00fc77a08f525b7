"""prepare: the custom fields the load writes, created once each, and a load that never starts on a
half-prepared org (emulator over HTTPS, real simple-salesforce)."""

from __future__ import annotations

import pytest
from dataset import load_all, small_dataset, transform_all
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions, SchemaNotReady
from hdm.mapping import load_mapping
from hdm.model import CustomFieldDef, Flag, Provenance

MIG = "mig-prep"


def cf(i, target, name, ftype="text", form="Form", choices=(), **kw):
    return CustomFieldDef(Provenance("osticket", "form_field", str(i)), target=target, name=name, type=ftype,
                          label=name.replace("_", " ").title(), form=form, choices=list(choices), **kw)


AREAS = [{"key": "hw", "label": "Hardware"}, {"key": "sw", "label": "Software"}, {"key": "bill", "label": "Billing"}]
DEFS = [
    cf(1, "contact", "email", flags=[Flag("core_field", "core")]), cf(2, "contact", "name"),
    cf(5, "ticket", "subject"), cf(7, "ticket", "priority", "choice"),
    cf(8, "organization", "name", form="Company Information"), cf(9, "organization", "name", form="Organization"),
    cf(12, "organization", "website"),
    cf(20, "ticket", "product_area", "multichoice", choices=AREAS),
    cf(21, "ticket", "region", "choice", choices=[{"key": "1", "label": "Europe"}, {"key": "2", "label": "Asia"}]),
    cf(30, "ticket", "old_ref", enabled=False),
]


def options(stage, **kw):
    return SalesforceOptions(stage=stage, bulk_poll_seconds=0.01, retry_base_seconds=0.01, retry_max_seconds=0.05,
                             default_owner_email="owner@helpdesk.test",
                             reference_names={"category:1": "Billing", "category:2": "Report a Problem",
                                              "sla_policy:1": "Default SLA", "team:1": "Support"}, **kw)


def test_only_fields_not_carried_by_standard_fields_are_created_each_once(sf_factory, stage):
    dest = SalesforceDestination(sf_factory, options=options(stage))
    report = dest.prepare({"custom_fields": DEFS})
    assert report["failed"] == [] and report["not_ready"] == []
    custom = [c for c in report["created"] if "hdm_cf_" in c]
    assert sorted(custom) == ["Case.hdm_cf_product_area__c", "Case.hdm_cf_region__c"]
    fields = {f["name"]: f for f in sf_factory().Case.describe()["fields"]}
    area = fields["hdm_cf_product_area__c"]
    assert area["type"] == "multipicklist"
    assert [p["value"] for p in area["picklistValues"]] == ["Hardware", "Software", "Billing"]
    assert fields["hdm_cf_region__c"]["type"] == "picklist"
    # a second prepare verifies, creates nothing
    again = dest.prepare({"custom_fields": DEFS})
    assert again["created"] == [] and again["failed"] == []


def test_help_topic_sla_and_department_are_unrestricted_picklists_with_the_source_names(sf_factory, stage):
    SalesforceDestination(sf_factory, options=options(stage)).prepare({"custom_fields": []})
    fields = {f["name"]: f for f in sf_factory().Case.describe()["fields"]}
    for name, values in (("case_help_topic__c", ["Billing", "Report a Problem"]),
                         ("case_sla_plan__c", ["Default SLA"]), ("case_department__c", ["Support"])):
        assert fields[name]["type"] == "picklist", name
        assert fields[name]["restrictedPicklist"] is False
        assert [p["value"] for p in fields[name]["picklistValues"]] == values


def test_multi_select_values_arrive_semicolon_joined(sf_factory, stage, crosswalk):
    # as in a migration: the definitions are staged by the extract, read by both the transform and prepare
    stage.write_records("extract/custom_field/custom_field-1.jsonl.gz", [d.to_dict() for d in DEFS])
    dest = SalesforceDestination(sf_factory, options=options(stage))
    assert "Case.hdm_cf_product_area__c" in dest.prepare({})["created"]
    data = small_dataset(stage, tickets=2)
    data["ticket"][0].custom = {"product_area": [AREAS[0], AREAS[2]], "region": "Asia", "old_ref": "R-1"}
    chunks = transform_all(dest, {k: v for k, v in data.items() if k not in ("message", "attachment")})
    results = load_all(dest, chunks, crosswalk, MIG, "run-1")
    case = sf_factory().query("SELECT hdm_cf_product_area__c, hdm_cf_region__c FROM Case WHERE "
                              "hdm_Legacy_Id__c = 'ticket:1'")["records"][0]
    assert (case["hdm_cf_product_area__c"], case["hdm_cf_region__c"]) == ("Hardware;Billing", "Asia")
    cases = next(r for r in results if r.phase == "cases")
    assert cases.counts().get("rejected", 0) == 0
    # the value of a field disabled in the source is not silently dropped: it is flagged
    assert any(f["code"] == "custom_value_not_migrated" and f["field"] == "old_ref" for f in cases.flags)


BAD_FIELD = {"schema": {"Case": {"hdm_Too_Long__c": {"type": "Text", "length": 300}}},
             "objects": {"ticket": {"fields": {"hdm_Too_Long__c": {"from": "subject"}}}}}


def test_a_field_that_cannot_be_created_stops_the_load_before_any_case_is_written(sf_factory, sf_admin, stage):
    dest = SalesforceDestination(sf_factory, load_mapping("osticket", "salesforce", override=BAD_FIELD), options(stage))
    with pytest.raises(SchemaNotReady) as err:
        dest.prepare({"custom_fields": DEFS})
    assert [f["field"] for f in err.value.fields] == ["Case.hdm_Too_Long__c"]
    assert "Length" in err.value.fields[0]["reason"] and "Case.hdm_Too_Long__c" in str(err.value)
    assert sf_admin.counts().get("Case", 0) == 0


def test_drop_option_loads_without_the_missing_field_and_flags_every_record(sf_factory, sf_admin, stage, crosswalk):
    dest = SalesforceDestination(sf_factory, load_mapping("osticket", "salesforce", override=BAD_FIELD),
                                 options(stage, unprepared_fields="drop"))
    report = dest.prepare({"custom_fields": DEFS})
    assert report["dropped_fields"] == ["Case.hdm_Too_Long__c"]
    data = small_dataset(stage, tickets=3)
    chunks = transform_all(dest, {k: v for k, v in data.items() if k not in ("message", "attachment")})
    results = load_all(dest, chunks, crosswalk, MIG, "run-1")
    cases = next(r for r in results if r.phase == "cases")
    assert cases.counts().get("rejected", 0) == 0 and sf_admin.counts()["Case"] == 3
    dropped = {f["source_key"] for f in cases.flags if f["code"] == "field_not_prepared"}
    assert dropped == {"ticket:1", "ticket:2", "ticket:3"}
