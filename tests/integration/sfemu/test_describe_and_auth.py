"""Describe conformance against the recorded org responses, logins, limits and headers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simple_salesforce.exceptions import SalesforceExpiredSession

RECORDED = Path("/work/shared/reference/salesforce/describe")
COMPARED = ("name", "type", "length", "nillable", "createable", "updateable", "externalId", "referenceTo",
            "restrictedPicklist", "defaultedOnCreate", "idLookup", "unique")


@pytest.mark.parametrize("obj", ["Account", "Case", "Contact", "Lead", "Group"])
def test_describe_matches_the_recorded_org_field_by_field(sf, obj):
    recorded = json.loads((RECORDED / f"{obj}.describe.json").read_text())
    served = getattr(sf, obj).describe()
    assert served["keyPrefix"] == recorded["keyPrefix"]
    served_fields = {f["name"]: f for f in served["fields"]}
    assert list(served_fields) == [f["name"] for f in recorded["fields"]]
    for field in recorded["fields"]:
        mine = served_fields[field["name"]]
        for key in COMPARED:
            assert mine[key] == field[key], (obj, field["name"], key)
        assert [p["value"] for p in mine["picklistValues"]] == [p["value"] for p in field["picklistValues"]]


def test_every_object_the_pairs_use_is_described(sf):
    names = {o["name"] for o in sf.describe()["sobjects"]}
    wanted = {"Account", "Case", "Contact", "Lead", "Group", "CaseComment", "EmailMessage", "ContentVersion",
              "ContentDocument", "ContentDocumentLink", "User", "QueueSobject", "GroupMember", "Topic",
              "TopicAssignment", "Knowledge__kav", "EmailTemplate"}
    assert wanted <= names
    comment = {f["name"]: f for f in sf.CaseComment.describe()["fields"]}
    assert comment["CommentBody"]["length"] == 4000
    assert comment["ParentId"]["referenceTo"] == ["Case"] and not comment["ParentId"]["nillable"]
    assert comment["IsPublished"]["updateable"] and not comment["CommentBody"]["updateable"]
    case_number = {f["name"]: f for f in sf.Case.describe()["fields"]}["CaseNumber"]
    assert not case_number["createable"]


@pytest.mark.parametrize("auth", ["session", "password", "oauth_password", "client_credentials"])
def test_unmodified_simple_salesforce_logs_in_every_supported_way(sfemu, auth):
    sf = sfemu.connect(auth=auth)
    assert sf.Case.create({"Subject": f"via {auth}"})["success"] is True
    assert sfemu.admin.counters()["families"]["sobject"] == 1


def test_a_wrong_password_is_refused(sfemu):
    from hdm_infra.testing.sfemu import login_domain, trusted_session
    from simple_salesforce import Salesforce
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    creds = sfemu.running.credentials
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(username=creds["username"], password="nope", security_token="x",
                   domain=login_domain(sfemu.running), session=trusted_session(sfemu.running))


def test_limits_remaining_falls_as_calls_are_made_and_each_response_carries_usage(sf, sfemu):
    first = sf.limits()["DailyApiRequests"]
    sf.Case.create({"Subject": "a"})
    second = sf.limits()["DailyApiRequests"]
    assert second["Remaining"] == first["Remaining"] - 2
    response = sf.Case.create({"Subject": "b"}, headers=None) and sf.restful("limits", method="GET")
    assert response["DailyApiRequests"]["Max"] == second["Max"]
    raw = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
    assert raw.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_a_spent_daily_allocation_answers_403_request_limit_exceeded(sf, sfemu):
    from simple_salesforce.exceptions import SalesforceRefusedRequest

    sfemu.admin.knobs(daily_api_max=100)
    sfemu.admin.set_api_usage(100)
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.Case.create({"Subject": "over"})
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_an_expired_session_is_refreshed_by_a_password_login_client(sfemu):
    sf = sfemu.connect(auth="password")
    sfemu.admin.expire_sessions()
    assert sf.Case.create({"Subject": "after refresh"})["success"]
    direct = sfemu.connect(auth="session")
    with pytest.raises(SalesforceExpiredSession):
        direct.Case.create({"Subject": "stale"})
