"""How many calls the loader spends: long IN lists go through one Bulk query job, not one REST query per URL."""

from __future__ import annotations

from hdm.destinations.salesforce import SalesforceOptions
from hdm.destinations.salesforce.api import SalesforceApi


def test_a_long_in_list_costs_one_bulk_query_job_and_reads_the_same_records(sf_factory, sf_admin):
    sf = sf_factory()
    emails = [f"person{i:04d}@a-rather-long-domain-name.example.test" for i in range(1200)]
    results = sf.bulk2.Contact.insert(records=[{"LastName": f"P{i}", "Email": e} for i, e in enumerate(emails)],
                                      wait=0.01)
    assert sum(r["numberRecordsFailed"] for r in results) == 0
    api = SalesforceApi(sf, SalesforceOptions(bulk_poll_seconds=0.01))
    wanted = emails[::2] + ["nobody@example.test"]
    sf_admin.clear_counters()
    found = api.query_in("Id, Email, AccountId", "Contact", "Email", wanted)
    families = sf_admin.counters()["families"]
    assert sorted(r["Email"] for r in found) == sorted(emails[::2])
    assert all(r["AccountId"] is None for r in found)  # empty CSV cells read as null, as over REST
    assert families.get("query", 0) == 0 and families.get("bulk2_query_create") == 1
    # a short list stays one REST query
    sf_admin.clear_counters()
    assert len(api.query_in("Id", "Contact", "Email", emails[:5])) == 5
    assert sf_admin.counters()["families"].get("query") == 1
