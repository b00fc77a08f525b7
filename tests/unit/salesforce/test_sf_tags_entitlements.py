"""Ticket tags on the Case (multi-select limits, text mode, overflow flagged per record) and the SLA →
Entitlement Process report (metadata files, no entitlement on Cases)."""

from __future__ import annotations

import pytest
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.entitlements import entitlement_report, name_norm
from hdm.destinations.salesforce.tags import MULTI_TOTAL_MAX, tag_fields, tag_policy, tag_value
from hdm.mapping import load_mapping
from hdm.model import Provenance, SlaPolicy, Ticket

MULTI = {"field": "hdm_Tags__c", "as": "multipicklist", "length": 32768}


def names(key):
    return {"tag:1": "vip", "tag:2": "refund"}.get(key)


def test_multiselect_values_are_deduplicated_separator_replaced_and_long_ones_left_out():
    field, value, flags = tag_value("ticket:1", ["tag:1", "VIP", "a;b", "x" * 256, "tag:2"], MULTI, names)
    assert field == "hdm_Tags__c" and value == "vip;a,b;refund"
    codes = {f["code"] for f in flags}
    assert codes == {"tag_changed", "tag_too_long"}


def test_the_joined_value_stays_within_4099_and_the_rest_is_flagged():
    tags = [f"t{i:03d}-" + "y" * 95 for i in range(60)]  # 60 × 100 characters
    _, value, flags = tag_value("ticket:1", tags, MULTI, names)
    assert len(value) <= MULTI_TOTAL_MAX and value.count(";") + 1 == 40
    over = [f for f in flags if f["code"] == "tags_overflow"]
    assert len(over) == 1 and len(over[0]["original"]) == 20


def test_at_most_100_values_are_selected():
    _, value, flags = tag_value("ticket:1", [f"t{i}" for i in range(130)], MULTI, names)
    assert value.count(";") + 1 == 100 and len(flags[0]["original"]) == 30


def test_text_mode_joins_with_a_separator_and_respects_its_length():
    policy = {"field": "Tags__c", "as": "text", "length": 12}
    _, value, flags = tag_value("ticket:1", ["alpha", "beta", "gamma"], policy, names)
    assert value == "alpha; beta" and flags[0]["original"] == ["gamma"]


def test_without_the_policy_tags_are_flagged_not_dropped_silently():
    field, value, flags = tag_value("ticket:1", ["vip"], None, names)
    assert (field, value) == (None, None) and flags[0]["code"] == "tags_not_loaded"
    assert tag_value("ticket:2", [], None, names) == (None, None, [])


def test_the_policy_is_validated_and_makes_the_field():
    mapping = load_mapping("osticket", "salesforce", override={"policies": {"ticket_tags": {"field": "hdm_Tags__c"}}})
    assert tag_policy(mapping)["as"] == "multipicklist"
    (f,) = tag_fields(mapping)
    assert (f.object, f.type, f.picklist_from) == ("Case", "MultiselectPicklist", "tag")
    bad = load_mapping("osticket", "salesforce", override={"policies": {"ticket_tags": {"field": "X__c",
                                                                                      "as": "cloud"}}})
    with pytest.raises(ValueError):
        tag_policy(bad)


def test_a_ticket_row_carries_its_tags_by_configuration():
    mapping = load_mapping("osticket", "salesforce", override={"policies": {"ticket_tags": {
        "field": "hdm_Tags__c", "as": "multipicklist"}}})
    dest = SalesforceDestination(lambda: None, mapping, SalesforceOptions())
    t = Ticket(Provenance("export", "ticket", "1"), subject="s", tags=["vip", "refund", "vip"])
    rows = dest.transform("ticket", [t])
    assert rows[P.CASES][0]["hdm_Tags__c"] == "vip;refund"
    plain = SalesforceDestination(lambda: None, load_mapping("osticket", "salesforce"), SalesforceOptions())
    row = plain.transform("ticket", [t])[P.CASES][0]
    assert "hdm_Tags__c" not in row and any(f["code"] == "tags_not_loaded" for f in row["_flags"])


def test_sla_policies_become_entitlement_process_metadata_and_no_case_gets_one():
    slas = [SlaPolicy(Provenance("export", "sla", "1"), name="Gold Support", first_response_hours=1,
                      grace_period_hours=8.5, schedule="EU hours"),
            SlaPolicy(Provenance("export", "sla", "2"), name="Basic", grace_period_hours=48, active=False)]
    rep = entitlement_report(True, ["Gold Support"], slas)
    xml = rep["metadata_files"]["entitlementProcesses/gold_support.entitlementProcess"]
    assert "<minutesToComplete>60</minutesToComplete>" in xml and "<minutesToComplete>510</minutesToComplete>" in xml
    assert "<businessHours>EU hours</businessHours>" in xml
    basic = rep["metadata_files"]["entitlementProcesses/basic.entitlementProcess"]
    assert "<active>false</active>" in basic and "First Response" not in basic
    assert rep["cases_get_entitlements"] is False and "| Gold Support | `gold_support`" in rep["markdown"]
    off = entitlement_report(False, [], slas)
    assert off["enabled"] is False and "not enabled" in off["markdown"]
    assert name_norm("Gold Support v2!") == "gold_support_v2"
