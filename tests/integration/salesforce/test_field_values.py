"""One bad value never costs a record: every value is checked against its field (from the org's describe) before
the write, and a record the org still refuses over a named field is sent once more without it (emulator over
HTTPS, real simple-salesforce)."""

from __future__ import annotations

import pytest
from dataset import load_all, small_dataset, transform_all
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
from hdm.model import CustomFieldDef, Provenance

MIG = "mig-values"


def cf(i, name, ftype, choices=()):
    return CustomFieldDef(Provenance("osticket", "form_field", str(i)), target="ticket", name=name, type=ftype,
                          label=name.replace("_", " ").title(), form="Ticket Details", choices=list(choices))


DEFS = [cf(1, "due_on", "date"), cf(2, "seen_at", "datetime"), cf(3, "note", "text"), cf(4, "units", "integer"),
        cf(5, "vip", "bool"),
        cf(6, "region", "choice", [{"key": "1", "label": "Europe"}, {"key": "2", "label": "Asia"}])]


def make(sf_factory, stage, **kw):
    stage.write_records("extract/custom_field/custom_field-1.jsonl.gz", [d.to_dict() for d in DEFS])
    opts = SalesforceOptions(stage=stage, bulk_poll_seconds=0.01, retry_base_seconds=0.01, retry_max_seconds=0.05,
                             default_owner_email="owner@helpdesk.test",
                             reference_names={"category:1": "Billing", "sla_policy:1": "Default SLA",
                                              "team:1": "Support"}, legacy_namespace=MIG, **kw)
    dest = SalesforceDestination(sf_factory, options=opts)
    dest.prepare({})
    return dest


def run_cases(dest, stage, crosswalk, customs):
    data = small_dataset(stage, tickets=len(customs))
    for t, custom in zip(data["ticket"], customs, strict=True):
        t.custom = custom
        t.parent = t.relation = None
    chunks = transform_all(dest, {k: v for k, v in data.items() if k not in ("message", "attachment")})
    results = load_all(dest, chunks, crosswalk, MIG, "run-1")
    return next(r for r in results if r.phase == "cases")


def case_of(sf, n):
    return sf.query("SELECT Id, hdm_cf_due_on__c, hdm_cf_seen_at__c, hdm_cf_note__c, hdm_cf_units__c, "
                    f"hdm_cf_vip__c, hdm_cf_region__c FROM Case WHERE hdm_Legacy_Id__c = '{MIG}/ticket:{n}'"
                    )["records"][0]


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_values_the_fields_cannot_take_never_cost_the_case(sf_factory, stage, crosswalk, bulk_threshold):
    dest = make(sf_factory, stage, bulk_threshold=bulk_threshold)
    cases = run_cases(dest, stage, crosswalk, [
        # osTicket's own storage of a datetime answer (DatetimeField): text with a zone
        {"due_on": "2025-03-16 00:00:00 UTC", "seen_at": "2025-03-16 14:30:00 UTC", "note": "x" * 300,
         "units": "1,234", "vip": "yes"},
        {"due_on": "next tuesday", "seen_at": "soon", "units": "many", "vip": "perhaps"},
    ])
    assert cases.counts().get("rejected", 0) == 0, cases.outcomes
    sf = sf_factory()
    one, two = case_of(sf, 1), case_of(sf, 2)
    assert one["hdm_cf_due_on__c"] == "2025-03-16"
    assert one["hdm_cf_seen_at__c"].startswith("2025-03-16T14:30:00")
    assert one["hdm_cf_note__c"] == "x" * 255  # truncated to the field's length (see field_check.py for why)
    assert one["hdm_cf_units__c"] == 1234 and one["hdm_cf_vip__c"] is True
    assert (two["hdm_cf_due_on__c"], two["hdm_cf_seen_at__c"], two["hdm_cf_units__c"]) == (None, None, None)
    flags = {(f["source_key"], f["field"]): f for f in cases.flags}
    assert flags[("ticket:1", "hdm_cf_note__c")]["code"] == "value_truncated"
    assert flags[("ticket:1", "hdm_cf_note__c")]["original"] == "x" * 300
    assert flags[("ticket:1", "hdm_cf_due_on__c")]["code"] == "value_converted"
    for field, original in (("hdm_cf_due_on__c", "next tuesday"), ("hdm_cf_seen_at__c", "soon"),
                            ("hdm_cf_units__c", "many"), ("hdm_cf_vip__c", "perhaps")):
        flag = flags[("ticket:2", field)]
        assert (flag["code"], flag["original"]) == ("value_not_loaded", original), field


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_a_validation_rule_naming_a_field_costs_that_field_not_the_case(sf_factory, sf_admin, stage, crosswalk,
                                                                         bulk_threshold):
    sf_admin.knobs(validation_rules={"Case": {"fraction": 1.0, "message": "Region is not served",
                                              "fields": ["hdm_cf_region__c"], "only_when_set": True}})
    dest = make(sf_factory, stage, bulk_threshold=bulk_threshold)
    cases = run_cases(dest, stage, crosswalk, [{"region": "Asia"}, {}])
    assert cases.counts().get("rejected", 0) == 0, cases.outcomes
    assert case_of(sf_factory(), 1)["hdm_cf_region__c"] is None
    dropped = [f for f in cases.flags if f["code"] == "field_dropped_on_reject"]
    assert [(f["source_key"], f["field"], f["original"]) for f in dropped] == [("ticket:1", "hdm_cf_region__c",
                                                                                "Asia")]
    assert "Region is not served" in dropped[0]["reason"]


def test_a_rule_that_refuses_the_record_whatever_its_fields_still_rejects_it(sf_factory, sf_admin, stage, crosswalk):
    sf_admin.knobs(validation_rules={"Case": {"fraction": 1.0, "message": "No Cases today", "fields": []}})
    dest = make(sf_factory, stage)
    cases = run_cases(dest, stage, crosswalk, [{"region": "Asia"}])
    assert cases.counts().get("rejected", 0) == 1
    assert not [f for f in cases.flags if f["code"] == "field_dropped_on_reject"]


def test_verification_reports_only_real_mismatches(sf_factory, stage, crosswalk):
    dest = make(sf_factory, stage)
    data = small_dataset(stage, tickets=2)
    data["ticket"][0].custom = {"vip": None, "note": "y" * 300, "seen_at": "2025-03-16 16:30:00 +02:00",
                                "units": "1,234", "region": "Asia"}
    data["ticket"][1].custom = {"vip": True, "due_on": "2025-03-16 00:00:00 UTC"}
    for t in data["ticket"]:
        t.parent = t.relation = None
    chunks = transform_all(dest, {k: v for k, v in data.items() if k not in ("message", "attachment")})
    load_all(dest, {k: v for k, v in chunks.items() if k != "cases"}, crosswalk, MIG, "run-1")
    rows = chunks["cases"][0]
    dest.load_chunk("cases", "cases-0", rows, crosswalk, MIG, "run-1")
    # a checkbox without a value reads back false; a cut text, a converted date/time and a formatted number
    # read back in the org's form: none of them is a mismatch
    assert dest.verify_chunk("cases", rows, crosswalk, MIG) == []
    sf = sf_factory()
    case = case_of(sf, 1)
    sf.Case.update(case["Id"], {"hdm_cf_vip__c": True, "hdm_cf_region__c": "Europe"})
    found = {(m["source_key"], m["field"]) for m in dest.verify_chunk("cases", rows, crosswalk, MIG)}
    assert found == {("ticket:1", "hdm_cf_vip__c"), ("ticket:1", "hdm_cf_region__c")}


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_a_field_left_out_after_a_refusal_is_not_also_a_verification_mismatch(sf_factory, sf_admin, stage, crosswalk,
                                                                              bulk_threshold):
    sf_admin.knobs(validation_rules={"Case": {"fraction": 1.0, "message": "Region is not served",
                                              "fields": ["hdm_cf_region__c"], "only_when_set": True}})
    dest = make(sf_factory, stage, bulk_threshold=bulk_threshold)
    data = small_dataset(stage, tickets=2)
    data["ticket"][0].custom = {"region": "Asia"}
    for t in data["ticket"]:
        t.parent = t.relation = None
    chunks = transform_all(dest, {k: v for k, v in data.items() if k not in ("message", "attachment")})
    load_all(dest, {k: v for k, v in chunks.items() if k != "cases"}, crosswalk, MIG, "run-1")
    rows = chunks["cases"][0]
    result = dest.load_chunk("cases", "cases-0", rows, crosswalk, MIG, "run-1")
    assert [(f["source_key"], f["field"], f["original"]) for f in result.flags
            if f["code"] == "field_dropped_on_reject"] == [("ticket:1", "hdm_cf_region__c", "Asia")]
    assert case_of(sf_factory(), 1)["hdm_cf_region__c"] is None
    # the record holds what was loaded (without the field): no mismatch on top of the flag
    assert dest.verify_chunk("cases", rows, crosswalk, MIG) == []


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_date_times_in_iso_forms_an_org_does_not_read_are_written_in_its_form(sf_factory, stage, crosswalk,
                                                                              bulk_threshold):
    """ISO-looking date/times a real org refuses (no seconds, microseconds, a space before the zone, a one-digit
    month): hdm used to send them unchanged, and the org (the emulator, strict like one) refused the request."""
    forms = ["2025-03-16T14:30Z", "2025-03-16T14:30:00.123456Z", "2025-03-16T16:30:00 +02:00", "2025-3-16T14:30:00Z",
             "2025-03-16T14:30:00.000+0000"]
    dest = make(sf_factory, stage, bulk_threshold=bulk_threshold)
    cases = run_cases(dest, stage, crosswalk, [{"seen_at": f} for f in forms])
    assert cases.counts().get("rejected", 0) == 0, cases.outcomes
    sf = sf_factory()
    assert [case_of(sf, n + 1)["hdm_cf_seen_at__c"] for n in range(len(forms))] == [
        "2025-03-16T14:30:00.000+0000", "2025-03-16T14:30:00.123+0000", "2025-03-16T14:30:00.000+0000",
        "2025-03-16T14:30:00.000+0000", "2025-03-16T14:30:00.000+0000"]
