"""Every knob: validation rules, faults, API allocation, audit fields, assignment rules, counters."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest


def create_many(sf, n, prefix="r"):
    body = {"records": [{"attributes": {"type": "Account"}, "Name": f"{prefix}{i}"} for i in range(n)]}
    return sf.restful("composite/sobjects", method="POST", json=body)


def test_validation_rule_rejects_the_same_records_on_every_run(sf, sfemu):
    sfemu.admin.knobs(seed=7, validation_rules={"Account": {"fraction": 0.25, "message": "Region required"}})
    first = create_many(sf, 200)
    rejected = {i for i, r in enumerate(first) if not r["success"]}
    assert 20 < len(rejected) < 80
    assert {first[i]["errors"][0]["statusCode"] for i in rejected} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert first[min(rejected)]["errors"][0]["message"] == "Region required"
    sfemu.admin.reset(knobs={"seed": 7, "validation_rules": {"Account": {"fraction": 0.25,
                                                                          "message": "Region required"}}})
    second = create_many(sf, 200)
    assert {i for i, r in enumerate(second) if not r["success"]} == rejected
    sfemu.admin.knobs(seed=8)
    third = create_many(sf, 200, prefix="r")
    assert {i for i, r in enumerate(third) if not r["success"]} != rejected


def test_fault_injection_503_and_429(sf, sfemu):
    sfemu.admin.knobs(faults={"seed": 1, "rate_503": 1.0, "families": ["sobject"]})
    with pytest.raises(SalesforceGeneralError) as err:
        sf.Case.create({"Subject": "x"})
    assert err.value.status == 503 and err.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT COUNT() FROM Case")["totalSize"] == 0  # other families unaffected
    sfemu.admin.knobs(faults={"rate_503": 0.0, "rate_429": 1.0})
    with pytest.raises(SalesforceGeneralError) as err:
        sf.Case.create({"Subject": "x"})
    assert err.value.status == 429


def test_fault_injection_rates_are_partial_and_seeded(sf, sfemu):
    def outcomes():
        out = []
        for _ in range(40):
            try:
                sf.Case.create({"Subject": "x"})
                out.append("ok")
            except SalesforceGeneralError:
                out.append("503")
        return out

    sfemu.admin.knobs(faults={"seed": 3, "rate_503": 0.3, "families": ["sobject"]})
    first = outcomes()
    sfemu.admin.knobs(faults={"seed": 3, "rate_503": 0.3, "families": ["sobject"]})
    assert outcomes() == first and 3 < first.count("503") < 25


def test_fault_injection_connection_reset(sf, sfemu):
    sfemu.admin.knobs(faults={"seed": 1, "rate_reset": 1.0, "families": ["sobject"]})
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Case.create({"Subject": "x"})


def test_fault_injection_slow_responses(sf, sfemu):
    sfemu.admin.knobs(faults={"seed": 1, "rate_slow": 1.0, "slow_seconds": 0.4, "families": ["sobject"]})
    started = time.monotonic()
    sf.Case.create({"Subject": "x"})
    assert time.monotonic() - started >= 0.4


def test_unable_to_lock_row_per_record(sf, sfemu):
    sfemu.admin.knobs(faults={"seed": 5, "rate_lock_row": 0.5})
    results = create_many(sf, 100)
    codes = {r["errors"][0]["statusCode"] for r in results if not r["success"]}
    assert codes == {"UNABLE_TO_LOCK_ROW"}
    assert 20 < sum(not r["success"] for r in results) < 80
    bulk = sf.bulk2.Account.insert(records=[{"Name": f"b{i}"} for i in range(100)], wait=0)[0]
    assert 20 < bulk["numberRecordsFailed"] < 80


def test_audit_fields_need_the_org_setting(sf, sfemu):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Case.create({"Subject": "old", "CreatedDate": "2015-03-01T10:00:00Z"})
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    sfemu.admin.knobs(audit_fields=True)
    created = {f["name"]: f["createable"] for f in sf.Case.describe()["fields"]}
    assert created["CreatedDate"] is True
    case = sf.Case.create({"Subject": "old", "CreatedDate": "2015-03-01T10:00:00+02:00"})["id"]
    assert sf.Case.get(case)["CreatedDate"] == "2015-03-01T08:00:00.000+0000"
    with pytest.raises(SalesforceMalformedRequest):
        sf.Case.update(case, {"CreatedDate": "2016-01-01T00:00:00Z"})


def test_assignment_rule_sends_new_cases_to_the_queue_unless_auto_assign_is_false(sf_seeded, sfemu):
    sf = sf_seeded
    sfemu.admin.knobs(assignment_rules={"Case": {"queue": "Support"}})
    queue = sf.query("SELECT Id FROM Group WHERE DeveloperName = 'Support'")["records"][0]["Id"]
    alice = sf.query("SELECT Id FROM User WHERE Email = 'alice@support.example'")["records"][0]["Id"]
    assigned = sf.Case.create({"Subject": "a", "OwnerId": alice})["id"]
    kept = sf.Case.create({"Subject": "b", "OwnerId": alice}, headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    assert sf.Case.get(assigned)["OwnerId"] == queue
    assert sf.Case.get(kept)["OwnerId"] == alice
    bulk = sf.bulk2.Case.insert(records=[{"Subject": "c", "OwnerId": alice}], wait=0)[0]
    assert bulk["numberRecordsFailed"] == 0
    owners = {r["Subject"]: r["OwnerId"] for r in sf.query("SELECT Subject, OwnerId FROM Case")["records"]}
    assert owners["c"] == alice  # Bulk runs no assignment rule unless the job names one


def test_counters_count_families_but_not_admin_calls(sf, sfemu):
    sfemu.admin.clear_counters()
    sf.Case.describe()
    sf.query("SELECT Id FROM Case")
    create_many(sf, 3)
    sf.bulk2.Case.insert(records=[{"Subject": "x"}], wait=0)
    sfemu.admin.counts()
    families = sfemu.admin.counters()["families"]
    assert families["describe"] == 1 and families["query"] == 1 and families["collections"] == 1
    for fam in ("bulk2_ingest_create", "bulk2_ingest_upload", "bulk2_ingest_close"):
        assert families[fam] == 1
    assert families["bulk2_ingest_poll"] >= 1
    assert not any(k.startswith("admin") for k in families)


def test_unknown_knobs_are_refused(sfemu):
    with pytest.raises(RuntimeError, match="unknown knob"):
        sfemu.admin.knobs(no_such_knob=1)
