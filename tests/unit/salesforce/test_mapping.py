"""The mapping is data: a schema-validated YAML per pair, with per-customer overrides merged over it."""

import pytest
from hdm.destinations.salesforce.fields import api_field_name
from hdm.mapping import MappingError, load_document, load_mapping


def test_default_osticket_mapping_is_valid_and_targets_service_cloud_objects():
    m = load_mapping("osticket", "salesforce")
    assert {k: v.target for k, v in m.objects.items()} == {
        "organization": "Account", "contact": "Contact", "ticket": "Case", "message": "CaseComment",
        "attachment": "ContentVersion", "event": "hdm_Case_Event__c",
    }
    assert set(m.custom_objects) == {"hdm_Case_Event__c"}  # created by prepare, with its Case lookup
    assert any(f.type == "Lookup" and f.reference_to == "Case" for f in m.custom_objects["hdm_Case_Event__c"].fields)
    assert m.version


@pytest.mark.parametrize("name,state,expected,lossy", [
    ("Open", "open", "New", False),
    ("Closed", "closed", "Closed", False),
    ("Archived", "archived", "Closed", True),
    ("Resolved", "closed", "Closed", True),
    ("Escalated-custom", "closed", "Closed", True),  # unknown name: its state decides; the name is lost, flagged
    ("Weird", None, "New", True),  # nothing known: the default, flagged
])
def test_status_maps_into_the_case_lifecycle_and_archived_is_lossy(name, state, expected, lossy):
    mv = load_mapping("osticket", "salesforce").map_value("case_status", [name, state])
    assert (mv.value, mv.lossy) == (expected, lossy)


@pytest.mark.parametrize("priority,expected,lossy", [
    ("low", "Low", False), ("normal", "Medium", False), ("high", "High", False), ("emergency", "High", True),
    ("Emergency", "High", True),
])
def test_priority_map_flags_emergency_as_lossy(priority, expected, lossy):
    mv = load_mapping("osticket", "salesforce").map_value("case_priority", [priority])
    assert (mv.value, mv.lossy) == (expected, lossy)


def test_an_empty_value_maps_to_nothing_rather_than_a_default():
    assert load_mapping("osticket", "salesforce").map_value("case_priority", [None, ""]) is None


def test_customer_override_changes_a_value_and_removes_a_field():
    m = load_mapping("osticket", "salesforce", override={
        "value_maps": {"case_priority": {"values": {"emergency": {"to": "Critical"}}}},
        "objects": {"organization": {"target": "Account", "fields": {"Description": None}}},
    })
    assert m.map_value("case_priority", ["emergency"]).value == "Critical"
    assert m.map_value("case_priority", ["low"]).value == "Low"  # the rest of the default stays
    assert "Description" not in {f.to for f in m.objects["organization"].fields}
    assert "Name" in {f.to for f in m.objects["organization"].fields}


def test_override_from_a_yaml_file(tmp_path):
    p = tmp_path / "acme.yaml"
    p.write_text("custom_fields:\n  fields:\n    ticket.secret: {skip: true}\n    ticket.plan: {to: Plan__c}\n")
    m = load_mapping("osticket", "salesforce", override=p)
    assert m.custom_field_name("ticket", "secret") is None
    assert m.custom_field_name("ticket", "plan") == "Plan__c"


def test_a_bad_override_fails_with_the_path_that_is_wrong():
    with pytest.raises(MappingError, match="objects/ticket/fields/Status"):
        load_document("osticket", "salesforce",
                      override={"objects": {"ticket": {"target": "Case", "fields": {"Status": {"to": "x"}}}}})


def test_a_field_naming_an_undefined_value_map_is_refused():
    with pytest.raises(MappingError, match="not defined"):
        load_document("osticket", "salesforce", override={"objects": {"ticket": {"target": "Case", "fields": {
            "Status": {"from": "status", "value_map": "nope"}}}}})


def test_unreadable_yaml_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("objects: [unclosed\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping("osticket", "salesforce", override=p)


@pytest.mark.parametrize("name,expected", [
    ("issue type", "hdm_cf_issue_type__c"),
    ("__weird__name__", "hdm_cf_weird_name__c"),
    ("x" * 80, "hdm_cf_" + "x" * 33 + "__c"),
])
def test_custom_field_api_names_are_valid_salesforce_names(name, expected):
    got = api_field_name("hdm_cf_", name)
    assert got == expected
    assert "__" not in got.removesuffix("__c") and len(got.removesuffix("__c")) <= 40


def test_custom_fields_get_salesforce_types_from_canonical_types():
    m = load_mapping("osticket", "salesforce")
    assert m.custom_field_def("ticket", "due", "date").type == "Date"
    assert m.custom_field_def("contact", "vip", "bool").object == "Contact"
    pick = m.custom_field_def("ticket", "kind", "choice", choices=[{"key": "a", "label": "Alpha"}])
    assert pick.type == "Picklist" and pick.picklist_values == ("Alpha",)
    assert m.custom_field_def("agent", "x", "text") is None  # agents have no custom-field target
