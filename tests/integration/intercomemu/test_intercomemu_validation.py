"""The emulator refuses requests the official OpenAPI 2.16 document does not allow, and turns a response that breaks
the document into a 500 it logs and records (so tests fail on it)."""

from __future__ import annotations

import logging

ADA = "991267001"


def test_requests_that_break_the_spec_are_refused_with_the_reason(intercomemu):
    api, url = intercomemu.api, intercomemu.url
    cases = [
        ("POST", "/contacts", {"email": 42}, "email"),  # wrong type
        ("POST", "/tickets", {"ticket_type_id": "1"}, "contacts"),  # a required property missing
        ("POST", "/ticket_types/1/attributes", {"name": "x", "description": "d", "data_type": "colour"},
         "data_type"),  # not in the enum
        ("POST", "/conversations/1/reply", {"message_type": "note", "type": "user", "body": "x",
                                            "intercom_user_id": "a"}, "is a required property"),  # no contact notes
    ]
    for method, path, body, word in cases:
        response = api.request(method, url + path, json=body)
        assert response.status_code == 400, (path, response.text)
        error = response.json()["errors"][0]
        assert error["code"] == "parameter_invalid" and word in error["message"], (path, error)
    # query parameters are cast by their declared type and checked against the schema (maximum 150)
    assert api.get(url + "/conversations", params={"per_page": "abc"}).status_code == 400
    too_big = api.get(url + "/conversations", params={"per_page": 151})
    assert too_big.status_code == 400 and "150" in too_big.text
    assert api.get(url + "/conversations", params={"per_page": 150}).status_code == 200
    not_json = api.post(url + "/contacts", data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    # nothing was written by a refused request
    assert intercomemu.admin.counts()["contact"] == 0 and intercomemu.admin.counts()["ticket"] == 0


def test_a_response_that_breaks_the_spec_becomes_a_logged_500_and_is_recorded(intercomemu, caplog):
    intercomemu.admin.knobs(corrupt_responses=["listAdmins"])  # test-only: the emulator spoils this answer
    with caplog.at_level(logging.ERROR, logger="hdm_infra.intercomemu"):
        response = intercomemu.api.get(intercomemu.url + "/admins")
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["code"] == "server_error" and "failed OpenAPI 2.16 validation" in error["message"]
    assert any("response failed OpenAPI validation" in r.getMessage() for r in caplog.records)
    failures = intercomemu.admin.validation_failures(clear=True)  # the fixture would fail the test on these
    assert [(f["what"], f["operation"], f["status"]) for f in failures] == [("response", "/admins", 200)]
    assert intercomemu.api.get(intercomemu.url + "/teams").status_code == 200  # other answers are untouched


def test_error_bodies_of_undocumented_statuses_are_checked_against_the_error_schema(intercomemu):
    # POST /contacts documents 200 and 401 only: a 409 must still be a valid `error` object
    intercomemu.api.post(intercomemu.url + "/contacts", json={"email": "a@b.example"})
    response = intercomemu.api.post(intercomemu.url + "/contacts", json={"email": "a@b.example"})
    assert response.status_code == 409
    assert intercomemu.admin.validation_failures() == []


def test_the_openapi_core_cross_check_agrees_on_valid_and_invalid_traffic(intercomemu):
    # the fixture runs with cross_check on: openapi-core re-validates every request and response; any disagreement
    # with the compiled validators would be recorded as a failure
    assert intercomemu.admin.knobs()["cross_check"] is True
    api, url = intercomemu.api, intercomemu.url
    contact = api.post(url + "/contacts", json={"email": "c@d.example", "name": "C"}).json()
    api.post(url + "/contacts", json={"email": ["not", "a", "string"]})
    api.get(url + "/contacts", params={"per_page": 5})
    message = api.post(url + "/conversations", json={"from": {"type": "user", "id": contact["id"]},
                                                      "body": "hello"}).json()
    api.post(url + f"/conversations/{message['conversation_id']}/reply",
             json={"message_type": "note", "type": "admin", "admin_id": ADA, "body": "n"})
    api.get(url + f"/conversations/{message['conversation_id']}")
    assert intercomemu.admin.validation_failures() == []
