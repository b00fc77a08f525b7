"""The Intercom emulator's knobs and workspace behaviours: the rate limit, injected faults, search (lag, limits,
paging), attachments, the plan's private notes, deletion, and the admin API."""

from __future__ import annotations

import base64

import pytest
import requests

ADA = "991267001"


def call(emu, method, path, body=None, **params):
    return emu.api.request(method, emu.url + path, json=body, params=params or None)


def ok(response):
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def codes(response):
    body = response.json()
    assert body["type"] == "error.list"
    return [e["code"] for e in body["errors"]]


def a_ticket(emu, contact_id):
    tt = ok(call(emu, "POST", "/ticket_types", {"name": "Support"}))
    return ok(call(emu, "POST", "/tickets", {"ticket_type_id": tt["id"], "contacts": [{"id": contact_id}],
                                             "ticket_attributes": {"_default_title_": "T"}}))


def a_contact(emu, email="ann@customer.example", **extra):
    return ok(call(emu, "POST", "/contacts", {"email": email, **extra}))


# ----- rate limit -------------------------------------------------------------------------------------------------
def test_calls_over_the_10_second_window_get_429_with_the_headers(intercomemu):
    intercomemu.admin.knobs(rate_per_minute=60)  # 10 per 10-second window
    seen = []
    for _ in range(21):  # two windows hold at most 20 calls
        response = call(intercomemu, "GET", "/tags")
        seen.append(response)
        if response.status_code == 429:
            break
    limited = seen[-1]
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Limit"] == "10" and limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) % 10 == 0
    assert limited.json()["errors"] == [{"code": "rate_limit_exceeded",
                                         "message": "Exceeded rate limit of 10 in 10_seconds"}]
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in seen[:-1]]
    assert all(a > b for a, b in zip(remaining, remaining[1:], strict=False) if b != 9)  # counts down per window
    assert intercomemu.admin.counters()["families"].get("rate_limited", 0) == 1


def test_other_apps_share_the_workspace_quota(intercomemu):
    # this app may make 10 a window, the workspace 20, and the other private apps already make 15 of them
    intercomemu.admin.knobs(rate_per_minute=60, workspace_rate_per_minute=120, other_apps_per_window=15)
    seen = []
    for _ in range(11):  # two windows hold at most 10 calls
        seen.append(call(intercomemu, "GET", "/tags"))
        if seen[-1].status_code == 429:
            break
    assert seen[-1].status_code == 429 and len(seen) <= 11
    assert seen[-1].json()["errors"][0]["message"] == "Exceeded rate limit of 20 in 10_seconds"
    assert seen[-1].headers["X-RateLimit-Limit"] == "10"  # the app's own allowance
    assert all(int(r.headers["X-RateLimit-Remaining"]) <= 4 for r in seen[:-1])


# ----- faults -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("knob", "status", "code"), [("rate_500", 500, "server_error"),
                                                       ("rate_503", 503, "service_unavailable"),
                                                       ("rate_429", 429, "rate_limit_exceeded")])
def test_injected_faults_answer_error_lists(intercomemu, knob, status, code):
    intercomemu.admin.knobs(faults={knob: 1.0, "families": ["listTags"]})
    response = call(intercomemu, "GET", "/tags")
    assert response.status_code == status and codes(response) == [code]
    assert "X-RateLimit-Limit" in response.headers
    assert call(intercomemu, "GET", "/teams").status_code == 200  # other families are untouched
    assert intercomemu.admin.counters()["families"]["listTags"] == 1


def test_injected_connection_resets_and_seeded_fault_rates(intercomemu):
    intercomemu.admin.knobs(faults={"rate_reset": 1.0, "families": ["listTags"]})
    with pytest.raises(requests.ConnectionError):
        call(intercomemu, "GET", "/tags")
    intercomemu.admin.knobs(faults={"rate_reset": 0.0, "rate_500": 0.5, "seed": 7, "families": []})
    first = [call(intercomemu, "GET", "/tags").status_code for _ in range(12)]
    intercomemu.admin.knobs(faults={"rate_500": 0.5, "seed": 7})  # same seed: same sequence
    again = [call(intercomemu, "GET", "/tags").status_code for _ in range(12)]
    assert first == again and set(first) == {200, 500}


def test_a_write_whose_answer_is_lost_has_happened(intercomemu):
    intercomemu.admin.knobs(faults={"rate_reset_after": 1.0, "families": ["CreateContact"]})
    with pytest.raises(requests.ConnectionError):
        call(intercomemu, "POST", "/contacts", {"email": "lost@x.example"})
    assert intercomemu.admin.counts()["contact"] == 1  # done, though the client never heard
    intercomemu.admin.knobs(faults={"rate_reset_after": 0.0})
    again = call(intercomemu, "POST", "/contacts", {"email": "lost@x.example"})
    assert again.status_code == 409 and intercomemu.admin.dump()["contact"][0]["id"] in again.text


def test_company_scroll_is_one_per_app_expires_and_restarts_after_a_500(intercomemu):
    ann = a_contact(intercomemu)
    for i in range(17):
        company = ok(call(intercomemu, "POST", "/companies", {"company_id": f"c-{i}", "name": f"C{i}"}))
        ok(call(intercomemu, "POST", f"/contacts/{ann['id']}/companies", {"id": company["id"]}))
    first = ok(call(intercomemu, "GET", "/companies/scroll"))
    assert len(first["data"]) == 15
    assert codes(call(intercomemu, "GET", "/companies/scroll")) == ["scroll_exists"]  # one open scroll per app
    second = ok(call(intercomemu, "GET", "/companies/scroll", scroll_param=first["scroll_param"]))
    end = ok(call(intercomemu, "GET", "/companies/scroll", scroll_param=first["scroll_param"]))
    assert len(second["data"]) == 2 and end["data"] == []
    assert call(intercomemu, "GET", "/companies/scroll", scroll_param=first["scroll_param"]).status_code == 404
    ok(call(intercomemu, "GET", "/companies/scroll"))  # the finished scroll is gone: a new one may start
    intercomemu.admin.knobs(faults={"rate_500": 1.0, "families": ["scrollOverAllCompanies"]})
    failed = call(intercomemu, "GET", "/companies/scroll")
    assert failed.status_code == 500 and "restart the scroll" in failed.text
    intercomemu.admin.knobs(faults={"rate_500": 0.0}, scroll_idle_seconds=0.0)
    again = ok(call(intercomemu, "GET", "/companies/scroll"))  # the failed scroll was closed
    assert len(again["data"]) == 15
    assert call(intercomemu, "GET", "/companies/scroll", scroll_param=again["scroll_param"]).status_code == 404


# ----- search -----------------------------------------------------------------------------------------------------
def search(emu, kind, query, **pagination):
    body = {"query": query, **({"pagination": pagination} if pagination else {})}
    return ok(call(emu, "POST", f"/{kind}/search", body))


def test_search_lag_counts_calls_and_seconds(intercomemu):
    intercomemu.admin.knobs(search_lag_calls=3)
    ann = a_contact(intercomemu)
    by_email = {"field": "email", "operator": "=", "value": "ann@customer.example"}
    assert search(intercomemu, "contacts", by_email)["data"] == []  # not indexed yet
    assert ok(call(intercomemu, "GET", f"/contacts/{ann['id']}"))["id"] == ann["id"]  # reads see it at once
    call(intercomemu, "GET", "/tags")
    assert [c["id"] for c in search(intercomemu, "contacts", by_email)["data"]] == [ann["id"]]
    intercomemu.admin.knobs(search_lag_calls=0, search_lag_seconds=3600)
    ticket = a_ticket(intercomemu, ann["id"])
    assert search(intercomemu, "tickets", {"field": "id", "operator": "=", "value": ticket["id"]})["tickets"] == []
    intercomemu.admin.knobs(search_lag_seconds=0)
    assert search(intercomemu, "tickets", {"field": "id", "operator": "=", "value": ticket["id"]})["total_count"] == 1


def test_search_operators_paging_and_documented_limits(intercomemu):
    for i in range(5):
        a_contact(intercomemu, email=f"user{i}@corp.example", external_id=f"ext-{i}", signed_up_at=1_600_000_000 + i)
    a_contact(intercomemu, email="other@else.example")
    corp = {"field": "email", "operator": "$", "value": "@corp.example"}
    page = search(intercomemu, "contacts", corp, per_page=2)
    ids = [c["id"] for c in page["data"]]
    while page["pages"].get("next"):
        page = search(intercomemu, "contacts", corp, per_page=2, starting_after=page["pages"]["next"]["starting_after"])
        ids += [c["id"] for c in page["data"]]
    assert len(ids) == len(set(ids)) == 5
    both = {"operator": "AND", "value": [corp, {"field": "external_id", "operator": "IN", "value": ["ext-1", "ext-3"]}]}
    assert sorted(c["external_id"] for c in search(intercomemu, "contacts", both)["data"]) == ["ext-1", "ext-3"]
    # dates match by calendar day; contact search takes only > and < on dates
    same_day = {"field": "signed_up_at", "operator": "=", "value": 1_600_000_000}
    assert search(intercomemu, "contacts", same_day)["total_count"] == 5
    refused = call(intercomemu, "POST", "/contacts/search",
                   {"query": {"field": "signed_up_at", "operator": ">=", "value": 1_600_000_000}})
    assert refused.status_code == 400 and "signed_up_at" in refused.text
    too_many = {"operator": "OR", "value": [{"field": "email", "operator": "=", "value": f"x{i}"} for i in range(16)]}
    assert call(intercomemu, "POST", "/contacts/search", {"query": too_many}).status_code == 400
    deep = {"operator": "AND", "value": [{"operator": "OR", "value": [
        {"operator": "AND", "value": [corp]}]}]}
    assert call(intercomemu, "POST", "/contacts/search", {"query": deep}).status_code == 400


def test_conversation_search_by_contact_and_created_at(intercomemu):
    ann = a_contact(intercomemu)
    bob = a_contact(intercomemu, email="bob@customer.example")
    for who, when in ((ann, 1_500_000_000), (bob, 1_500_100_000), (ann, 1_500_200_000)):
        ok(call(intercomemu, "POST", "/conversations", {"from": {"type": "user", "id": who["id"]}, "body": "x",
                                                         "created_at": when}))
    found = search(intercomemu, "conversations", {"operator": "AND", "value": [
        {"field": "contact_ids", "operator": "=", "value": ann["id"]},
        {"field": "created_at", "operator": ">", "value": 1_500_050_000}]})
    assert [c["created_at"] for c in found["conversations"]] == [1_500_200_000]


# ----- attachments -----------------------------------------------------------------------------------------------
def test_attachment_count_size_and_encoding_limits(intercomemu):
    ann = a_contact(intercomemu)
    ticket = a_ticket(intercomemu, ann["id"])
    reply = {"message_type": "comment", "type": "admin", "admin_id": ADA, "body": "files"}
    urls = [f"https://files.example/{i}.png" for i in range(11)]
    too_many = call(intercomemu, "POST", f"/tickets/{ticket['id']}/reply", {**reply, "attachment_urls": urls})
    assert too_many.status_code == 400 and "is too long" in too_many.text  # the spec's maxItems: 10
    part = ok(call(intercomemu, "POST", f"/tickets/{ticket['id']}/reply", {**reply, "attachment_urls": urls[:2]}))
    assert [(a["url"], a["content_type"]) for a in part["attachments"]] == [(u, "image/png") for u in urls[:2]]
    intercomemu.admin.knobs(attachment_urls_images_only=True)
    pdf = call(intercomemu, "POST", f"/tickets/{ticket['id']}/reply",
               {**reply, "attachment_urls": ["https://files.example/report.pdf"]})
    assert pdf.status_code == 400 and "not an image (application/pdf)" in pdf.text
    intercomemu.admin.knobs(attachment_max_bytes=8)
    big = {"name": "big.bin", "content_type": "application/octet-stream", "data": base64.b64encode(b"x" * 9).decode()}
    refused = call(intercomemu, "POST", f"/tickets/{ticket['id']}/reply", {**reply, "attachment_files": [big]})
    assert refused.status_code == 400 and "9 bytes; the limit is 8" in refused.text
    broken = {**big, "data": "not base64!"}
    refused = call(intercomemu, "POST", f"/tickets/{ticket['id']}/reply", {**reply, "attachment_files": [broken]})
    assert refused.status_code == 400 and "not base64" in refused.text
    parts = ok(call(intercomemu, "GET", f"/tickets/{ticket['id']}"))["ticket_parts"]["ticket_parts"]
    assert len(parts) == 1  # refused replies left nothing behind


# ----- plan ---------------------------------------------------------------------------------------------------------
def test_a_plan_without_private_notes_refuses_notes_but_not_replies(intercomemu):
    intercomemu.admin.knobs(private_notes=False)
    ann = a_contact(intercomemu)
    ticket = a_ticket(intercomemu, ann["id"])
    note = call(intercomemu, "POST", f"/tickets/{ticket['id']}/reply",
                {"message_type": "note", "type": "admin", "admin_id": ADA, "body": "internal"})
    assert note.status_code == 403 and codes(note) == ["forbidden"]
    ok(call(intercomemu, "POST", f"/tickets/{ticket['id']}/reply",
            {"message_type": "comment", "type": "admin", "admin_id": ADA, "body": "public"}))


# ----- deletion ---------------------------------------------------------------------------------------------------
def test_what_can_and_cannot_be_deleted(intercomemu):
    ann = a_contact(intercomemu)
    company = ok(call(intercomemu, "POST", "/companies", {"company_id": "c-1", "name": "Acme"}))
    ticket = a_ticket(intercomemu, ann["id"])
    msg = ok(call(intercomemu, "POST", "/conversations", {"from": {"type": "user", "id": ann["id"]}, "body": "x"}))
    note = ok(call(intercomemu, "POST", f"/contacts/{ann['id']}/notes", {"body": "n", "admin_id": ADA}))
    assert ok(call(intercomemu, "DELETE", f"/tickets/{ticket['id']}"))["deleted"] is True
    assert ok(call(intercomemu, "DELETE", f"/conversations/{msg['conversation_id']}"))["deleted"] is True
    assert ok(call(intercomemu, "DELETE", f"/companies/{company['id']}"))["deleted"] is True
    assert ok(call(intercomemu, "DELETE", f"/contacts/{ann['id']}"))["deleted"] is True
    assert call(intercomemu, "GET", f"/tickets/{ticket['id']}").status_code == 404
    assert call(intercomemu, "GET", f"/contacts/{ann['id']}").status_code == 404
    # no DELETE in the spec for notes, ticket types, admins or teams
    for path in (f"/notes/{note['id']}", "/ticket_types/1", f"/admins/{ADA}", "/teams/5001"):
        assert call(intercomemu, "DELETE", path).status_code == 405, path


# ----- admin API --------------------------------------------------------------------------------------------------
def test_admin_api_dump_counts_counters_and_reset(intercomemu):
    ann = a_contact(intercomemu, external_id="ost-1")
    a_ticket(intercomemu, ann["id"])
    dump = intercomemu.admin.dump()
    assert [c["external_id"] for c in dump["contact"]] == ["ost-1"] and len(dump["ticket"]) == 1
    assert intercomemu.admin.counts()["ticket"] == 1
    families = intercomemu.admin.counters()["families"]
    assert families["CreateContact"] == 1 and families["createTicket"] == 1
    unauthorised = requests.get(intercomemu.url + "/__admin/dump", verify=str(intercomemu.running.cert_path))
    assert unauthorised.status_code == 401
    intercomemu.admin.reset(knobs={"cross_check": True})
    assert intercomemu.admin.counts()["contact"] == 0 and intercomemu.admin.counters()["api_usage"] == 0


def test_seed_adds_admins_and_teams_without_touching_the_workspace(intercomemu):
    ann = a_contact(intercomemu)
    intercomemu.admin.seed(admins=[{"id": "42", "email": "cy@support.example", "name": "Cy", "team_ids": [6]}],
                           teams=[{"id": "6", "name": "Billing", "admin_ids": [42]}])
    assert [a["id"] for a in ok(call(intercomemu, "GET", "/admins"))["admins"]] == ["991267001", "991267002", "42"]
    assert ok(call(intercomemu, "GET", "/teams/6"))["admin_ids"] == [42]
    assert ok(call(intercomemu, "GET", f"/contacts/{ann['id']}"))["id"] == ann["id"]
    with pytest.raises(RuntimeError, match="needs an email"):
        intercomemu.admin.seed(admins=[{"name": "No Email"}])


def test_conversations_are_listed_with_cursor_paging(intercomemu):
    ann = a_contact(intercomemu)
    made = [ok(call(intercomemu, "POST", "/conversations", {"from": {"type": "user", "id": ann["id"]},
                                                            "body": f"m{i}"}))["conversation_id"] for i in range(5)]
    seen, params = [], {"per_page": 2}
    for _ in range(5):
        page = ok(call(intercomemu, "GET", "/conversations", **params))
        seen += [c["id"] for c in page["conversations"]]
        nxt = page["pages"].get("next")
        if not nxt:
            break
        params = {"per_page": 2, "starting_after": nxt["starting_after"]}
    assert seen == made and page["total_count"] == 5
    bad_cursor = call(intercomemu, "GET", "/conversations", starting_after="zzz")
    assert bad_cursor.status_code == 400 and "starting_after" in bad_cursor.text
