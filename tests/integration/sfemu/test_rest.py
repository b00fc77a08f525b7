"""REST sObject calls, upsert, collections, SOQL and Tooling through unmodified simple-salesforce."""

from __future__ import annotations

import base64

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound


def add_legacy_id(sf, obj="Case", name="Legacy_Id__c"):
    body = {"FullName": f"{obj}.{name}", "Metadata": {"type": "Text", "label": "Legacy Id", "length": 40,
                                                      "externalId": True, "unique": True}}
    return sf.restful("tooling/sobjects/CustomField", method="POST", json=body)


def test_a_case_gets_an_autonumber_and_case_number_cannot_be_set(sf):
    created = sf.Case.create({"Subject": "Printer on fire"})
    case = sf.Case.get(created["id"])
    assert case["CaseNumber"].isdigit() and case["Status"] == "New" and case["Priority"] == "Medium"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Case.create({"Subject": "x", "CaseNumber": "42"})
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_custom_fields_from_tooling_appear_in_describe_and_become_writable(sf):
    assert add_legacy_id(sf)["success"] is True
    field = {f["name"]: f for f in sf.Case.describe()["fields"]}["Legacy_Id__c"]
    assert field["externalId"] and field["unique"] and field["length"] == 40 and field["custom"]
    created = sf.Case.create({"Subject": "a", "Legacy_Id__c": "T-1"})
    assert sf.Case.get(created["id"])["Legacy_Id__c"] == "T-1"
    rows = sf.restful("tooling/query", params={"q": "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField "
                                                    "WHERE TableEnumOrId = 'Case'"})
    assert [r["DeveloperName"] for r in rows["records"]] == ["Legacy_Id"]


def test_case_comment_refuses_custom_fields(sf):
    from simple_salesforce.exceptions import SalesforceMalformedRequest as Malformed

    with pytest.raises(Malformed):
        add_legacy_id(sf, "CaseComment", "Legacy_Id__c")


def test_upsert_by_external_id_creates_then_updates_and_reports_multiple_matches(sf):
    add_legacy_id(sf)
    first = sf.Case.upsert("Legacy_Id__c/T-9", {"Subject": "one"}, raw_response=True)
    assert first.status_code == 201 and first.json()["created"] is True
    second = sf.Case.upsert("Legacy_Id__c/T-9", {"Subject": "two"}, raw_response=True)
    assert second.status_code == 200 and second.json()["created"] is False
    assert sf.query("SELECT Subject FROM Case WHERE Legacy_Id__c = 'T-9'")["records"][0]["Subject"] == "two"
    sf.restful("tooling/sobjects/CustomField", method="POST", json={
        "FullName": "Account.Src__c", "Metadata": {"type": "Text", "label": "Src", "length": 20, "externalId": True}})
    sf.Account.create({"Name": "a", "Src__c": "dup"})
    sf.Account.create({"Name": "b", "Src__c": "dup"})
    from simple_salesforce.exceptions import SalesforceMoreThanOneRecord

    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("Src__c/dup", {"Name": "c"})


def test_unique_external_ids_refuse_duplicates(sf):
    add_legacy_id(sf)
    sf.Case.create({"Subject": "a", "Legacy_Id__c": "U-1"})
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Case.create({"Subject": "b", "Legacy_Id__c": "U-1"})
    assert err.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_collections_return_200_with_per_record_errors_in_request_order(sf):
    account = sf.Account.create({"Name": "Acme"})["id"]
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "Ok", "AccountId": account, "Email": "ok@example.com"},
        {"attributes": {"type": "Contact"}, "FirstName": "NoLast"},
        {"attributes": {"type": "Contact"}, "LastName": "Bad", "Email": "not-an-email"},
        {"attributes": {"type": "Case"}, "Subject": "s" * 256},
        {"attributes": {"type": "Contact"}, "LastName": "Wrong", "AccountId": sf.Case.create({"Subject": "c"})["id"]},
        {"attributes": {"type": "Contact"}, "LastName": "Ghost", "AccountId": account[:-6] + "zzzAAA"},
    ]}
    results = sf.restful("composite/sobjects", method="POST", json=body)
    codes = [r["errors"][0]["statusCode"] if r["errors"] else None for r in results]
    assert results[0]["success"] and codes[0] is None
    assert codes[1:] == ["REQUIRED_FIELD_MISSING", "INVALID_EMAIL_ADDRESS", "STRING_TOO_LONG",
                         "FIELD_INTEGRITY_EXCEPTION", codes[5]]
    assert codes[5] in ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID")
    assert results[1]["errors"][0]["fields"] == ["LastName"]


def test_all_or_none_rolls_back_the_good_records(sf, sfemu):
    body = {"allOrNone": True, "records": [{"attributes": {"type": "Account"}, "Name": "Good"},
                                           {"attributes": {"type": "Account"}}]}
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sfemu.admin.counts()["Account"] == 0


def test_collections_update_upsert_and_delete(sf):
    add_legacy_id(sf)
    up = sf.restful("composite/sobjects/Case/Legacy_Id__c", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Case"}, "Legacy_Id__c": "C-1", "Subject": "one"},
        {"attributes": {"type": "Case"}, "Legacy_Id__c": "C-2", "Subject": "two"}]})
    assert [r["created"] for r in up] == [True, True]
    again = sf.restful("composite/sobjects/Case/Legacy_Id__c", method="PATCH", json={"records": [
        {"attributes": {"type": "Case"}, "Legacy_Id__c": "C-1", "Subject": "uno"}]})
    assert again[0]["created"] is False and again[0]["id"] == up[0]["id"]
    upd = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Case"}, "id": up[1]["id"], "Subject": "dos"}]})
    assert upd[0]["success"]
    gone = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{up[0]['id']},{up[1]['id']}"})
    assert all(r["success"] for r in gone)
    assert sf.query("SELECT COUNT() FROM Case")["totalSize"] == 0
    assert sf.query_all("SELECT Id FROM Case WHERE IsDeleted = true", include_deleted=True)["totalSize"] == 2


def test_soql_subset_filters_orders_pages_and_follows_one_hop(sf, sfemu):
    account = sf.Account.create({"Name": "Acme"})["id"]
    records = [{"attributes": {"type": "Case"}, "Subject": f"case {i:04d}", "AccountId": account if i % 2 else None,
                "Priority": "High" if i % 3 == 0 else "Low"} for i in range(200)]
    for _ in range(12):
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    everything = sf.query_all("SELECT Id, Subject, Account.Name FROM Case ORDER BY Subject DESC")
    assert everything["totalSize"] == 2400 and len(everything["records"]) == 2400
    first = sf.query("SELECT Id FROM Case")
    assert len(first["records"]) == 2000 and first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    with_account = [r for r in everything["records"] if r["Account"]]
    assert with_account[0]["Account"]["Name"] == "Acme"
    res = sf.query("SELECT Subject FROM Case WHERE (Priority = 'High' OR Priority IN ('Medium')) AND NOT "
                   "Subject LIKE 'case 00%' AND AccountId != null AND CreatedDate = TODAY LIMIT 5 OFFSET 1")
    assert len(res["records"]) == 5 and all(not r["Subject"].startswith("case 00") for r in res["records"])
    assert sf.query("SELECT COUNT() FROM Case WHERE AccountId = null")["totalSize"] == 1200
    assert sf.query("SELECT COUNT() FROM Case WHERE CreatedDate > 2020-01-01T00:00:00Z")["totalSize"] == 2400
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Nope__c FROM Case")


def test_content_version_makes_a_document_and_links_it_to_the_case(sf):
    case = sf.Case.create({"Subject": "with file"})["id"]
    data = base64.b64encode(b"%PDF-1.4 hello").decode()
    version = sf.ContentVersion.create({"PathOnClient": "report.pdf", "Title": "Report", "VersionData": data,
                                        "FirstPublishLocationId": case})["id"]
    row = sf.query(f"SELECT ContentDocumentId, FileType, ContentSize FROM ContentVersion WHERE Id = '{version}'")
    doc = row["records"][0]["ContentDocumentId"]
    assert doc.startswith("069") and row["records"][0]["FileType"] == "PDF" and row["records"][0]["ContentSize"] == 14
    links = sf.query(f"SELECT LinkedEntityId, ShareType, Visibility FROM ContentDocumentLink "
                     f"WHERE ContentDocumentId = '{doc}'")["records"]
    assert [(lk["LinkedEntityId"], lk["ShareType"]) for lk in links] == [(case, "I")]
    blob = sf.session.get(f"{sf.base_url}sobjects/ContentVersion/{version}/VersionData", headers=sf.headers)
    assert blob.content == b"%PDF-1.4 hello"
    other = sf.Case.create({"Subject": "second"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.ContentDocumentLink.create({"ContentDocumentId": doc, "LinkedEntityId": other, "ShareType": "X"})
    assert err.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    sf.ContentDocumentLink.create({"ContentDocumentId": doc, "LinkedEntityId": other, "ShareType": "V",
                                   "Visibility": "InternalUsers"})


def test_deleting_a_case_removes_its_comments_emails_and_links_but_not_files(sf, sfemu):
    case = sf.Case.create({"Subject": "to delete"})["id"]
    sf.CaseComment.create({"ParentId": case, "CommentBody": "internal", "IsPublished": False})
    sf.EmailMessage.create({"ParentId": case, "Subject": "hi", "TextBody": "b", "Status": "3",
                            "FromAddress": "a@example.com"})
    sf.ContentVersion.create({"PathOnClient": "a.txt", "VersionData": base64.b64encode(b"x").decode(),
                              "FirstPublishLocationId": case})
    sf.Case.delete(case)
    counts = sfemu.admin.counts()
    assert counts["CaseComment"] == 0 and counts["EmailMessage"] == 0 and counts["ContentDocumentLink"] == 0
    assert counts["ContentDocument"] == 1
    with pytest.raises(SalesforceResourceNotFound):
        sf.Case.get(case)


def test_accounts_and_contacts_with_cases_cannot_be_deleted(sf):
    account = sf.Account.create({"Name": "Keep"})["id"]
    contact = sf.Contact.create({"LastName": "Keep", "AccountId": account})["id"]
    case = sf.Case.create({"Subject": "x", "AccountId": account, "ContactId": contact})["id"]
    for obj, rid in ((sf.Account, account), (sf.Contact, contact)):
        with pytest.raises(SalesforceMalformedRequest) as err:
            obj.delete(rid)
        assert err.value.content[0]["errorCode"] == "DELETE_FAILED"
    sf.Case.delete(case)
    assert sf.Contact.delete(contact) == 204


def test_case_comment_body_is_bounded_in_bytes_and_only_is_published_updates(sf):
    case = sf.Case.create({"Subject": "x"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.CaseComment.create({"ParentId": case, "CommentBody": "\u00e9" * 2001})
    assert err.value.content[0]["errorCode"] == "STRING_TOO_LONG"
    comment = sf.CaseComment.create({"ParentId": case, "CommentBody": "\u00e9" * 2000})["id"]
    assert sf.CaseComment.get(comment)["IsPublished"] is False
    sf.CaseComment.update(comment, {"IsPublished": True})
    assert sf.CaseComment.get(comment)["IsPublished"] is True
    with pytest.raises(SalesforceMalformedRequest):
        sf.CaseComment.update(comment, {"CommentBody": "edited"})


def test_a_migration_cannot_create_users_but_seeded_users_and_queues_own_cases(sf_seeded, sfemu):
    sf = sf_seeded
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.User.create({"Username": "new@x.example", "LastName": "N", "Email": "n@x.example"})
    assert err.value.content[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    users = {r["Username"]: r["Id"] for r in sf.query("SELECT Id, Username FROM User")["records"]}
    queue = sf.query("SELECT Id FROM Group WHERE Type = 'Queue' AND DeveloperName = 'Support'")["records"][0]["Id"]
    assert sf.query(f"SELECT SobjectType FROM QueueSobject WHERE QueueId = '{queue}'")["records"][0][
        "SobjectType"] == "Case"
    case = sf.Case.create({"Subject": "a", "OwnerId": users["alice.agent@hdm.example"]},
                          headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    assert sf.Case.get(case)["OwnerId"] == users["alice.agent@hdm.example"]
    queued = sf.Case.create({"Subject": "q", "OwnerId": queue})["id"]
    assert sf.Case.get(queued)["OwnerId"] == queue
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Case.create({"Subject": "inactive", "OwnerId": users["old.agent@hdm.example"]})
    assert err.value.content[0]["errorCode"] == "INACTIVE_OWNER_OR_USER"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.create({"Name": "queue-owned", "OwnerId": queue})
    assert err.value.content[0]["errorCode"] in ("FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY")


def test_state_persists_in_sqlite_under_the_state_dir(sf, sfemu):
    import sqlite3

    sf.Case.create({"Subject": "persisted"})
    sfemu.running.emulator.flush()
    db = sqlite3.connect(sfemu.running.state_dir / "org.sqlite3")
    assert db.execute('SELECT Subject FROM "Case" WHERE IsDeleted = 0').fetchall() == [("persisted",)]


def test_the_serve_command_keeps_the_org_across_restarts(tmp_path):
    from hdm_infra.sfemu.client import connect
    from hdm_infra.sfemu.server import start_subprocess

    first = start_subprocess(tmp_path / "org")
    try:
        case = connect(first).Case.create({"Subject": "survives"})["id"]
    finally:
        first.stop()
    second = start_subprocess(tmp_path / "org")
    try:
        assert connect(second, auth="password").Case.get(case)["Subject"] == "survives"
    finally:
        second.stop()


def test_concurrent_clients_all_land_their_records(sfemu):
    from concurrent.futures import ThreadPoolExecutor

    def work(n):
        sf = sfemu.connect()
        body = {"records": [{"attributes": {"type": "Case"}, "Subject": f"t{n}-{i}"} for i in range(50)]}
        return sum(r["success"] for _ in range(4) for r in sf.restful("composite/sobjects", method="POST", json=body))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(work, range(8))) == 8 * 4 * 50
    assert sfemu.admin.counts()["Case"] == 1600
    assert sfemu.admin.counters()["families"]["collections"] == 32
