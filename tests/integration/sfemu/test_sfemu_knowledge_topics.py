"""Knowledge__kav, its standard actions, Topic/TopicAssignment rules and the feature switches
(salesforce-next.md §2-4), through unmodified simple-salesforce."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

FAILED = "You can't perform this action."


def action(sf, name, **inputs):
    return sf.restful(f"actions/standard/{name}", method="POST", json={"inputs": [inputs]})[0]


def status(sf, vid):
    return sf.query(f"SELECT PublishStatus, VersionNumber FROM Knowledge__kav WHERE Id = '{vid}'")["records"][0]


def test_a_draft_is_created_then_published_archived_and_deleted_only_through_the_actions(sf):
    vid = sf.Knowledge__kav.create({"Title": "Reset a password", "UrlName": "reset-a-password",
                                    "Body__c": "<p>Click</p>"})["id"]
    got = sf.Knowledge__kav.get(vid)
    assert got["PublishStatus"] == "Draft" and got["VersionNumber"] == 1
    assert got["KnowledgeArticleId"].startswith("kA0") and got["ArticleNumber"]
    with pytest.raises(SalesforceMalformedRequest):  # no data-API delete (KAV v67)
        sf.Knowledge__kav.delete(vid)
    bad = action(sf, "publishKnowledgeArticles", articleVersionIdList=[vid], pubAction="NOPE")
    assert bad["isSuccess"] is False and status(sf, vid)["PublishStatus"] == "Draft"
    done = action(sf, "publishKnowledgeArticles", articleVersionIdList=[vid], pubAction="PUBLISH_ARTICLE")
    assert done["isSuccess"] is True and done["outputValues"] == {vid[:15]: "Success"}
    assert status(sf, vid)["PublishStatus"] == "Online"
    with pytest.raises(SalesforceMalformedRequest):  # only drafts can be edited
        sf.Knowledge__kav.update(vid, {"Title": "changed"})
    refused = action(sf, "deleteKnowledgeArticles", articleVersionIdList=[vid])  # Online cannot be deleted
    assert refused["isSuccess"] is False and refused["outputValues"][vid[:15]].startswith(FAILED)
    assert action(sf, "archiveKnowledgeArticles", articleVersionIdList=[vid])["isSuccess"] is True
    assert status(sf, vid)["PublishStatus"] == "Archived"
    assert action(sf, "deleteKnowledgeArticles", articleVersionIdList=[vid])["isSuccess"] is True
    assert sf.query("SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Archived'")["totalSize"] == 0


def test_url_name_is_checked_and_unique_and_queries_must_filter(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Knowledge__kav.create({"Title": "x", "UrlName": "-starts-with-hyphen"})
    assert err.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceMalformedRequest):
        sf.Knowledge__kav.create({"Title": "x", "UrlName": "has space"})
    sf.Knowledge__kav.create({"Title": "x", "UrlName": "same"})
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Knowledge__kav.create({"Title": "y", "UrlName": "same"})
    assert err.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id FROM Knowledge__kav")
    assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest):  # Language is create-only
        vid = sf.query("SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Draft'")["records"][0]["Id"]
        sf.Knowledge__kav.update(vid, {"Language": "de"})


def test_knowledge_disabled_hides_the_object_and_the_actions(sfemu):
    sfemu.admin.reset(knobs={"knowledge_enabled": False})
    sf = sfemu.connect()
    with pytest.raises(SalesforceResourceNotFound):
        sf.Knowledge__kav.describe()
    with pytest.raises(SalesforceResourceNotFound):
        action(sf, "publishKnowledgeArticles", articleVersionIdList=["ka0000000000001AAA"], pubAction="PUBLISH_ARTICLE")
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert "Knowledge__kav" not in names and "Entitlement" not in names and "Case" in names


def test_topic_names_unique_case_insensitively_and_rename_only_case_and_spacing(sf):
    tid = sf.Topic.create({"Name": "Billing", "Description": "Path: Billing"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Topic.create({"Name": "BILLING"})
    assert err.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Topic.create({"Name": "x" * 100})
    assert err.value.content[0]["errorCode"] == "STRING_TOO_LONG"
    sf.Topic.update(tid, {"Name": "billing "})
    with pytest.raises(SalesforceMalformedRequest):
        sf.Topic.update(tid, {"Name": "Invoices"})


def test_topic_assignment_pairs_once_and_at_most_100_topics_per_record(sf):
    case = sf.Case.create({"Subject": "t"})["id"]
    topics = [sf.Topic.create({"Name": f"T{i}"})["id"] for i in range(101)]
    sf.TopicAssignment.create({"TopicId": topics[0], "EntityId": case})
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.TopicAssignment.create({"TopicId": topics[0], "EntityId": case})
    assert err.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    res = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "TopicAssignment"}, "TopicId": t, "EntityId": case} for t in topics[1:101]]})
    assert sum(r["success"] for r in res) == 99
    assert [r["errors"][0]["statusCode"] for r in res if not r["success"]] == ["LIMIT_EXCEEDED"]


def test_entitlement_objects_exist_only_when_enabled_and_sla_process_is_read_only(sfemu):
    sfemu.admin.reset(knobs={"entitlements_enabled": True})
    sf = sfemu.connect()
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.SlaProcess.create({"Name": "Gold"})
    assert err.value.content[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    acct = sf.Account.create({"Name": "Acme"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Entitlement.create({"Name": "Gold"})
    assert err.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    ent = sf.Entitlement.create({"Name": "Gold", "AccountId": acct})["id"]
    with pytest.raises(SalesforceMalformedRequest):
        sf.Entitlement.update(ent, {"AccountId": acct})
    assert sf.query("SELECT Id FROM SlaProcess")["totalSize"] == 0


def test_a_multiselect_value_over_255_characters_is_refused(sf):
    body = {"FullName": "Case.Tags__c", "Metadata": {"type": "MultiselectPicklist", "label": "Tags", "visibleLines": 4,
                                                     "valueSet": {"valueSetDefinition": {"value": [
                                                         {"fullName": "vip", "label": "vip"}]}}}}
    sf.restful("tooling/sobjects/CustomField", method="POST", json=body)
    assert sf.Case.create({"Subject": "a", "Tags__c": "vip;other"})["success"]  # unrestricted: other values kept
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Case.create({"Subject": "b", "Tags__c": "vip;" + "x" * 256})
    assert err.value.content[0]["errorCode"] == "STRING_TOO_LONG"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Case.create({"Subject": "c", "Tags__c": ";".join(f"v{i}" for i in range(101))})
    assert err.value.content[0]["errorCode"] == "TOO_MANY_ENUM_VALUE"
