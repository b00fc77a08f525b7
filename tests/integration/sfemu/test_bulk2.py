"""Bulk API 2.0 ingest and query jobs through unmodified simple-salesforce bulk2."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def add_field(sf, full, **meta):
    body = {"FullName": full, "Metadata": {"type": "Text", "label": full, "length": 40, **meta}}
    assert sf.restful("tooling/sobjects/CustomField", method="POST", json=body)["success"]


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_reports_failures_without_raising_and_results_are_not_in_input_order(sf):
    add_field(sf, "Case.Legacy_Id__c", externalId=True, unique=True)
    records = [{"Legacy_Id__c": f"T-{i}", "Subject": "s" * (300 if i % 50 == 0 else 5)} for i in range(500)]
    result = sf.bulk2.Case.insert(records=records, wait=0)[0]
    assert result["numberRecordsProcessed"] == 500 and result["numberRecordsFailed"] == 10
    ok = rows(sf.bulk2.Case.get_successful_records(result["job_id"]))
    failed = rows(sf.bulk2.Case.get_failed_records(result["job_id"]))
    assert len(ok) == 490 and len(failed) == 10
    assert set(ok[0]) >= {"sf__Id", "sf__Created", "Legacy_Id__c", "Subject"}
    assert all(r["sf__Created"] == "true" for r in ok)
    assert all(r["sf__Error"].startswith("STRING_TOO_LONG") for r in failed)
    order = [int(r["Legacy_Id__c"].split("-")[1]) for r in ok]
    assert order != sorted(order)
    assert sf.bulk2.Case.get_unprocessed_records(result["job_id"]).strip() == "Legacy_Id__c,Subject" or \
        sf.bulk2.Case.get_unprocessed_records(result["job_id"]).strip() == "Subject,Legacy_Id__c"


def test_upsert_blank_leaves_a_value_and_na_clears_it(sf):
    add_field(sf, "Case.Legacy_Id__c", externalId=True, unique=True)
    sf.bulk2.Case.insert(csv_file=None, records=[{"Legacy_Id__c": "A", "Subject": "s", "Description": "d"}], wait=0)
    data = "Legacy_Id__c,Subject,Description\nA,,#N/A\nB,new,\n"
    result = _upsert_csv(sf, data)
    assert result["numberRecordsFailed"] == 0
    got = {r["Legacy_Id__c"]: r for r in sf.query("SELECT Legacy_Id__c, Subject, Description FROM Case")["records"]}
    assert got["A"]["Subject"] == "s" and got["A"]["Description"] is None
    assert got["B"]["Subject"] == "new"
    ok = rows(sf.bulk2.Case.get_successful_records(result["job_id"]))
    assert {r["Legacy_Id__c"]: r["sf__Created"] for r in ok} == {"A": "false", "B": "true"}


def _upsert_csv(sf, data):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.csv"
        path.write_text(data)
        return sf.bulk2.Case.upsert(csv_file=str(path), external_id_field="Legacy_Id__c", wait=0)[0]


def test_relationship_columns_resolve_parents_by_external_id(sf):
    add_field(sf, "Case.Legacy_Id__c", externalId=True, unique=True)
    sf.bulk2.Case.insert(records=[{"Legacy_Id__c": "P-1", "Subject": "parent"}], wait=0)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.csv"
        path.write_text("Parent.Legacy_Id__c,CommentBody,IsPublished\nP-1,hello,false\nP-404,lost,true\n")
        result = sf.bulk2.CaseComment.insert(csv_file=str(path), wait=0)[0]
    assert result["numberRecordsFailed"] == 1
    failed = rows(sf.bulk2.CaseComment.get_failed_records(result["job_id"]))
    assert failed[0]["Parent.Legacy_Id__c"] == "P-404"
    comment = sf.query("SELECT Parent.Legacy_Id__c, IsPublished FROM CaseComment")["records"][0]
    assert comment["Parent"]["Legacy_Id__c"] == "P-1" and comment["IsPublished"] is False


def test_delete_and_hard_delete(sf, sfemu):
    result = sf.bulk2.Case.insert(records=[{"Subject": f"s{i}"} for i in range(20)], wait=0)[0]
    ids = [r["sf__Id"] for r in rows(sf.bulk2.Case.get_successful_records(result["job_id"]))]
    soft = sf.bulk2.Case.delete(records=[{"Id": i} for i in ids[:10]], wait=0)[0]
    hard = sf.bulk2.Case.hard_delete(records=[{"Id": i} for i in ids[10:]], wait=0)[0]
    assert soft["numberRecordsFailed"] == 0 and hard["numberRecordsFailed"] == 0
    assert sfemu.admin.counts()["Case"] == 0
    assert sf.query("SELECT COUNT() FROM Case", include_deleted=True)["totalSize"] == 10


def test_unknown_column_fails_the_job(sf):
    from simple_salesforce.exceptions import SalesforceOperationError

    with pytest.raises(SalesforceOperationError, match="Field name not found"):
        sf.bulk2.Case.insert(records=[{"Subject": "x", "Nope__c": "y"}], wait=0)


def test_upsert_on_a_non_external_field_fails_at_job_creation(sf):
    with pytest.raises(SalesforceMalformedRequest, match="INVALIDJOB"):
        sf.bulk2.Account.upsert(records=[{"Name": "x", "Website": "w"}], external_id_field="Website", wait=0)


def test_query_job_pages_with_locator_and_record_count_headers(sf):
    sf.bulk2.Case.insert(records=[{"Subject": f"s{i:03d}"} for i in range(250)], wait=0)
    pages = list(sf.bulk2.Case.query("SELECT Id, Subject, Owner.Name FROM Case", max_records=100))
    assert len(pages) == 3
    parsed = [r for page in pages for r in rows(page)]
    assert len(parsed) == 250 and parsed[0]["Owner.Name"] == "Hdm Migration"
    assert {r["Subject"] for r in parsed} == {f"s{i:03d}" for i in range(250)}


def test_an_upload_over_the_limit_is_refused(sf, sfemu):
    from simple_salesforce.exceptions import SalesforceBulkV2LoadError

    sfemu.admin.knobs(max_upload_bytes=1000)
    with pytest.raises((SalesforceBulkV2LoadError, SalesforceMalformedRequest)):
        sf.bulk2.Case.insert(records=[{"Subject": "s" * 50} for _ in range(100)], wait=0)


def test_internal_batches_count_against_the_daily_batch_limit(sf, sfemu):
    from simple_salesforce.exceptions import SalesforceOperationError

    sfemu.admin.knobs(daily_batch_max=2)
    sf.bulk2.Case.insert(records=[{"Subject": "s"} for _ in range(15000)], wait=0)
    assert sf.limits()["DailyBulkApiBatches"]["Remaining"] == 0
    with pytest.raises(SalesforceOperationError, match="batches"):
        sf.bulk2.Case.insert(records=[{"Subject": "s"}], wait=0)
