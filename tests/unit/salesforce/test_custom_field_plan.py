"""Which source custom fields become Salesforce custom fields (pure: mapping + definitions → plan)."""

from __future__ import annotations

from hdm.destinations.salesforce.custom_fields import plan_custom_fields
from hdm.destinations.salesforce.fields import FieldDef
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.schema import field_metadata, resolve_picklists
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping
from hdm.model import CustomFieldDef, Flag, Provenance, Ticket


def cf(i, target, name, ftype="text", form="Form", enabled=True, source_type=None, choices=(), core=False):
    return CustomFieldDef(Provenance("osticket", "form_field", str(i)), target=target, name=name, type=ftype,
                          label=name.title(), form=form, enabled=enabled, source_type=source_type or ftype,
                          choices=list(choices), flags=[Flag("core_field", "core")] if core else [])


def plan_of(*defs):
    return plan_custom_fields(load_mapping("osticket", "salesforce"), list(defs))


def test_fields_already_carried_by_standard_fields_are_not_created():
    plan = plan_of(cf(1, "contact", "email", core=True), cf(2, "contact", "name"), cf(3, "ticket", "subject"),
                   cf(4, "ticket", "priority", "choice"), cf(5, "organization", "website"),
                   cf(6, "ticket", "order_number"))
    assert [f"{f.object}.{f.name}" for f in plan.fields] == ["Case.hdm_cf_order_number__c"]
    assert plan.excluded[("contact", "name")].code == "standard_field"
    assert "FirstName, LastName" in plan.excluded[("contact", "name")].reason
    assert plan.excluded[("ticket", "priority")].reason.endswith("Priority")


def test_a_name_on_two_forms_becomes_one_field_with_the_choices_of_both():
    plan = plan_of(cf(1, "organization", "name", form="Company"), cf(2, "organization", "name", form="Org"),
                   cf(3, "ticket", "region", "choice", form="A", choices=[{"key": "1", "label": "Europe"}]),
                   cf(4, "ticket", "region", "choice", form="B", choices=[{"key": "2", "label": "Asia"},
                                                                          {"key": "1", "label": "Europe"}]))
    assert len(plan.fields) == 1
    region = plan.fields[0]
    assert (region.name, region.type, region.picklist_values) == ("hdm_cf_region__c", "Picklist",
                                                                  ("Europe", "Asia"))
    assert plan.api_name("ticket", "region") == "hdm_cf_region__c" and not plan.conflicts


def test_conflicting_types_become_one_text_field_and_are_reported():
    plan = plan_of(cf(1, "ticket", "code", "integer", form="A"), cf(2, "ticket", "code", "memo", form="B"))
    assert [(f.name, f.type) for f in plan.fields] == [("hdm_cf_code__c", "LongTextArea")]
    assert plan.conflicts[0]["field"] == "Case.hdm_cf_code__c" and len(plan.conflicts[0]["definitions"]) == 2


def test_disabled_and_presentation_only_fields_are_not_created():
    plan = plan_of(cf(1, "ticket", "old_ref", enabled=False), cf(2, "ticket", "section", "other", source_type="break"),
                   cf(3, "ticket", "help", "other", source_type="info"), cf(4, "ticket", "kept", enabled=False),
                   cf(5, "ticket", "kept", form="Other"))
    assert [f.name for f in plan.fields] == ["hdm_cf_kept__c"]  # enabled on one form: created
    assert plan.excluded[("ticket", "old_ref")].code == "disabled"
    assert plan.excluded[("ticket", "section")].code == "presentation"
    assert plan.excluded[("ticket", "help")].code == "presentation"


def test_values_of_fields_not_created_are_flagged_not_sent():
    mapping = load_mapping("osticket", "salesforce")
    options = SalesforceOptions()

    class Catalog:  # the plan the destination would read from the stage
        def plan(self):
            return plan_custom_fields(mapping, [cf(1, "ticket", "old_ref", enabled=False),
                                                cf(2, "ticket", "tags", "multichoice"),
                                                cf(3, "ticket", "subject")])

    transformer = SalesforceTransformer(mapping, options, ReferenceNames(), Catalog())
    ticket = Ticket(Provenance("osticket", "ticket", "1"), subject="s", status="Open",
                    custom={"old_ref": "X-1", "tags": [{"key": "a", "label": "Alpha"}, "Beta"], "subject": "s",
                            "mystery": "?"})
    row = transformer.transform("ticket", [ticket])["cases"][0]
    assert row["hdm_cf_tags__c"] == "Alpha;Beta"
    assert not any(k in row for k in ("hdm_cf_old_ref__c", "hdm_cf_subject__c", "hdm_cf_mystery__c"))
    flagged = {f["field"] for f in row["_flags"] if f["code"] == "custom_value_not_migrated"}
    assert flagged == {"old_ref", "mystery"}  # subject is carried by Case.Subject: nothing lost


def test_help_topic_sla_and_department_become_unrestricted_picklists_of_the_source_names():
    names = ReferenceNames({"category:1": "Billing / Refunds", "category:2": "Report a Problem",
                            "sla_policy:1": "Default SLA", "team:dept-1": "Support"})
    schema_fields = load_mapping("osticket", "salesforce").schema_fields
    fields, notes = resolve_picklists([f for f in schema_fields if f.picklist_from], names)
    by_name = {f.name: f for f in fields}
    assert by_name["case_help_topic__c"].type == "Picklist"
    assert by_name["case_help_topic__c"].picklist_values == ("Billing / Refunds", "Report a Problem")
    assert by_name["case_department__c"].picklist_values == ("Support",)
    meta = field_metadata(by_name["case_sla_plan__c"])
    assert meta["valueSet"]["restricted"] is False
    assert [v["fullName"] for v in meta["valueSet"]["valueSetDefinition"]["value"]] == ["Default SLA"]
    assert not notes


def test_a_picklist_without_values_is_created_as_text_with_a_note():
    fields, notes = resolve_picklists([FieldDef("Case", "case_sla_plan__c", "Picklist", picklist_from="sla_policy")],
                                      ReferenceNames({}))
    assert fields[0].type == "Text" and notes[0]["field"] == "Case.case_sla_plan__c"


def test_reference_names_written_for_model_v1_still_name_categories():
    names = ReferenceNames({"help_topic:1": "Billing", "category:2": "Report a Problem"})
    assert names.get("category:1") == "Billing" and names.get("category:2") == "Report a Problem"
    assert names.picklist_values("category") == ["Billing", "Report a Problem"]  # in the config's order
