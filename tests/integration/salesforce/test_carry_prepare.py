"""What the carried data needs in the org: CaseContactRole as the Object Reference describes it, and the
hdm_Case_Event__c custom object that prepare creates once (or names for the admin when the org refuses it)."""

from __future__ import annotations

import copy

import pytest
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions, SchemaNotReady
from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.custom_objects import prepare_custom_objects
from hdm.mapping import load_mapping
from hdm.mapping.model import Mapping
from hdm.model import Event, Provenance
from simple_salesforce.exceptions import SalesforceMalformedRequest


def _opts(**kw):
    return SalesforceOptions(bulk_poll_seconds=0.01, retry_base_seconds=0.01, retry_max_seconds=0.05,
                             default_owner_email="owner@helpdesk.test", **kw)


def test_case_contact_role_is_unique_per_case_contact_and_role_and_goes_with_its_case(sf_factory):
    sf = sf_factory()
    fields = {f["name"]: f for f in sf.CaseContactRole.describe()["fields"]}
    assert fields["CasesId"]["referenceTo"] == ["Case"] and not fields["CasesId"]["updateable"]
    assert not fields["ContactId"]["nillable"] and fields["Role"]["type"] == "picklist"
    case = sf.Case.create({"Subject": "s", "Status": "New"})["id"]
    contact = sf.Contact.create({"LastName": "Cc"})["id"]
    sf.CaseContactRole.create({"CasesId": case, "ContactId": contact, "Role": "CC"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.CaseContactRole.create({"CasesId": case, "ContactId": contact, "Role": "CC"})
    assert "DUPLICATE_VALUE" in str(exc.value.content)
    sf.CaseContactRole.create({"CasesId": case, "ContactId": contact, "Role": "Other"})  # another role: allowed
    assert sf.query("SELECT Id FROM CaseContactRole")["totalSize"] == 2
    sf.Case.delete(case)
    assert sf.query("SELECT Id FROM CaseContactRole")["totalSize"] == 0


def test_a_custom_object_needs_the_metadata_a_real_org_asks_for(sf_factory):
    sf = sf_factory()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("tooling/sobjects/CustomObject", method="POST",
                   json={"FullName": "Thing__c", "Metadata": {"label": "Thing", "pluralLabel": "Things"}})
    assert "sharingModel" in str(exc.value.content)
    sf.restful("tooling/sobjects/CustomObject", method="POST", json={"FullName": "Thing__c", "Metadata": {
        "label": "Thing", "pluralLabel": "Things", "nameField": {"label": "Thing", "type": "Text"},
        "deploymentStatus": "Deployed", "sharingModel": "ReadWrite"}})
    name = next(f for f in sf.Thing__c.describe()["fields"] if f["name"] == "Name")
    assert name["createable"] and not name["nillable"]  # a Text name field is required on create


def test_prepare_creates_the_event_object_once_with_its_fields(sf_factory):
    dest = SalesforceDestination(sf_factory, options=_opts())
    first = dest.prepare({})
    assert "hdm_Case_Event__c" in first["custom_objects"]["created"]
    fields = {f["name"]: f for f in sf_factory().hdm_Case_Event__c.describe()["fields"]}
    assert fields["Case__c"]["type"] == "reference" and fields["Case__c"]["referenceTo"] == ["Case"]
    assert fields["hdm_Legacy_Id__c"]["externalId"] and fields["Event_Time__c"]["type"] == "datetime"
    assert fields["Details__c"]["type"] == "textarea" and fields["Annulled__c"]["type"] == "boolean"
    assert any(n["what"] == "picklist values CaseContactRole.Role" for n in first["needs_admin"])
    again = dest.prepare({})
    assert again["custom_objects"]["created"] == [] and "hdm_Case_Event__c" in again["custom_objects"]["verified"]


def test_an_org_that_refuses_the_object_stops_prepare_and_names_what_to_deploy(sf_factory):
    doc = copy.deepcopy(load_mapping("osticket", "salesforce").document)
    doc["custom_objects"]["Bad__Name__c"] = doc["custom_objects"].pop("hdm_Case_Event__c")
    doc["objects"]["event"]["target"] = "Bad__Name__c"
    mapping = Mapping.from_document(doc)
    report = prepare_custom_objects(SalesforceApi(sf_factory(), _opts()), mapping)
    assert report["failed"][0]["object"] == "Bad__Name__c"
    ask = next(n for n in report["needs_admin"] if n["what"] == "custom object Bad__Name__c")
    assert ask["metadata"]["sharingModel"] == "ReadWrite" and "Case__c" in ask["fields"]
    with pytest.raises(SchemaNotReady) as exc:
        SalesforceDestination(sf_factory, mapping=mapping, options=_opts()).prepare({})
    assert any(f["field"].startswith("Bad__Name__c") for f in exc.value.report["not_ready"])


def test_without_the_object_under_drop_events_are_held_with_the_reason(sf_factory, crosswalk):
    doc = copy.deepcopy(load_mapping("osticket", "salesforce").document)
    doc["custom_objects"]["Bad__Name__c"] = doc["custom_objects"].pop("hdm_Case_Event__c")
    doc["objects"]["event"]["target"] = "Bad__Name__c"
    dest = SalesforceDestination(sf_factory, mapping=Mapping.from_document(doc),
                                 options=_opts(unprepared_fields="drop"))
    report = dest.prepare({})
    assert "Bad__Name__c" in report["dropped_fields"] or any(
        f.startswith("Bad__Name__c") for f in report["dropped_fields"])
    ev = Event(Provenance("osticket", "thread_event", "1"), ticket="ticket:1", name="created",
               at="2024-01-01T00:00:00Z")
    rows = dest.transform("event", [ev])["case_events"]
    result = dest.load_chunk("case_events", "c1", rows, crosswalk, "mig-x", "run-1")
    assert [(o.status, o.source_key) for o in result.outcomes] == [("held", "event:1")]
    assert "Bad__Name__c is not in the org" in result.outcomes[0].message
    entry = crosswalk.get("mig-x", "event:1", "Bad__Name__c")
    assert entry.state.value == "held" and entry.reason
