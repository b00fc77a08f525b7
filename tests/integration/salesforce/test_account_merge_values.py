"""Same-named organisations: merged into one Account with the merged one's own values kept, or kept apart."""

from __future__ import annotations

import pytest
from dataset import load_all, prov, transform_all
from hdm.crosswalk.base import Origin
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
from hdm.mapping import load_mapping
from hdm.model import Organization

MIG = "mig-merge"


def _orgs():
    first = Organization(prov("organization", 1), name="Acme Corp", website="https://acme.test",
                         notes="Key customer since 2019.")
    second = Organization(prov("organization", 2), name="ACME  corp", phone="+1 555 0100",
                          address="1 Main St, Springfield", website="https://acme-emea.test",
                          notes="EMEA branch; invoices by post.")
    other = Organization(prov("organization", 3), name="Globex", phone="+1 555 0199")
    for o in (first, second):
        o.flag("duplicate_name", "another organization has the same name; first is organization:1", field="name")
    return [first, second, other]


def _dest(sf_factory, stage, policies=None):
    mapping = load_mapping("osticket", "salesforce", override={"policies": policies} if policies else None)
    options = SalesforceOptions(stage=stage, bulk_poll_seconds=0.01, retry_base_seconds=0.01, retry_max_seconds=0.05,
                                default_owner_email="owner@helpdesk.test", legacy_namespace=MIG)
    dest = SalesforceDestination(sf_factory, mapping=mapping, options=options)
    dest.prepare({})
    return dest


def _accounts(sf):
    return sf.query("SELECT Id, Name, Phone, Website, BillingStreet, Description FROM Account")["records"]


@pytest.mark.parametrize("chunk_rows", [10, 1], ids=["one-chunk", "chunk-per-org"])
def test_the_merged_organisations_values_are_kept_on_the_account(sf_factory, sf_admin, stage, crosswalk,
                                                                   chunk_rows):
    dest = _dest(sf_factory, stage)
    results = load_all(dest, transform_all(dest, {"organization": _orgs()}, chunk_rows), crosswalk, MIG, "run-1")
    accounts = {a["Name"]: a for a in _accounts(sf_factory())}
    assert set(accounts) == {"Acme Corp", "Globex"}  # still merged, as the spec says
    acme = accounts["Acme Corp"]
    # the survivor's empty fields are filled from the merged organisation …
    assert acme["Phone"] == "+1 555 0100" and acme["BillingStreet"] == "1 Main St, Springfield"
    # … its own values stay, and the merged one's differing values are in the Description under its name
    assert acme["Website"] == "https://acme.test"
    desc = acme["Description"]
    assert desc.startswith("Key customer since 2019.")
    assert "Merged from ACME  corp (organization:2):" in desc
    assert "Website: https://acme-emea.test" in desc and "Description: EMEA branch; invoices by post." in desc
    assert crosswalk.get(MIG, "organization:2", "Account").origin == Origin.MERGED
    flags = [f for r in results for f in r.flags if f["source_key"] == "organization:2"]
    assert {"merged", "merged_values_kept"} <= {f["code"] for f in flags}
    kept = next(f for f in flags if f["code"] == "merged_values_kept")["reason"]
    assert "Phone (filled an empty field)" in kept and "Website (differs: kept in Description)" in kept
    # a second run writes nothing twice
    load_all(dest, transform_all(dest, {"organization": _orgs()}, chunk_rows), crosswalk, MIG, "run-2")
    again = {a["Name"]: a for a in _accounts(sf_factory())}["Acme Corp"]
    assert again["Description"].count("Merged from ACME  corp") == 1 and again["Phone"] == "+1 555 0100"


def test_an_option_keeps_same_named_organisations_apart(sf_factory, sf_admin, stage, crosswalk):
    dest = _dest(sf_factory, stage, {"same_name_organizations": "separate"})
    results = load_all(dest, transform_all(dest, {"organization": _orgs()}), crosswalk, MIG, "run-1")
    accounts = _accounts(sf_factory())
    assert sorted(a["Name"] for a in accounts) == ["ACME  corp", "Acme Corp", "Globex"]
    assert crosswalk.get(MIG, "organization:2", "Account").origin == Origin.CREATED
    flags = [f for r in results for f in r.flags]
    assert any(f["source_key"] == "organization:2" and f["code"] == "kept_apart" for f in flags)
    assert not any(f["code"] == "merged" for f in flags)


def test_the_suffixed_option_tells_same_named_accounts_apart_by_name(sf_factory, sf_admin, stage, crosswalk):
    dest = _dest(sf_factory, stage, {"same_name_organizations": "separate_suffixed"})
    load_all(dest, transform_all(dest, {"organization": _orgs()}), crosswalk, MIG, "run-1")
    names = sorted(a["Name"] for a in _accounts(sf_factory()))
    assert names == ["ACME  corp [osTicket organisation 2]", "Acme Corp [osTicket organisation 1]", "Globex"]


def test_an_unknown_policy_is_refused_before_any_row(sf_factory, sf_admin, stage):
    with pytest.raises(ValueError, match="same_name_organizations"):
        _dest(sf_factory, stage, {"same_name_organizations": "sometimes"})



def test_verification_after_the_merge_reads_back_what_was_sent(sf_factory, sf_admin, stage, crosswalk):
    dest = _dest(sf_factory, stage)
    (rows,) = transform_all(dest, {"organization": _orgs()})["accounts"]
    dest.load_chunk("accounts", "accounts-0", rows, crosswalk, MIG, "run-1")
    assert dest.verify_chunk("accounts", rows, crosswalk, MIG) == []


def test_writing_the_surviving_organisation_again_keeps_what_merges_put_on_its_account(
        sf_factory, sf_admin, stage, crosswalk):
    dest = _dest(sf_factory, stage)
    chunks = transform_all(dest, {"organization": _orgs()}, 1)  # one chunk per organisation
    load_all(dest, chunks, crosswalk, MIG, "run-1")
    # a re-run loads the survivor's chunk again (alone, or after its twin's): its upsert must not erase the merge
    again = transform_all(dest, {"organization": _orgs()}, 1)
    results = load_all(dest, {"accounts": [again["accounts"][0]]}, crosswalk, MIG, "run-2")
    acme = {a["Name"]: a for a in _accounts(sf_factory())}["Acme Corp"]
    assert acme["Phone"] == "+1 555 0100" and acme["BillingStreet"] == "1 Main St, Springfield"
    assert acme["Description"].count("Merged from ACME  corp (organization:2):") == 1
    assert acme["Description"].startswith("Key customer since 2019.")
    assert not [o for r in results for o in r.outcomes if o.status == "rejected"]
