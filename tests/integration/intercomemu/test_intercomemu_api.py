"""The Intercom emulator through plain `requests`: auth, headers, contacts, companies, tickets, parts, conversations,
tags. Every response these tests get was also validated against the official OpenAPI 2.16 document by the emulator
(the `intercomemu` fixture fails a test whose responses did not validate)."""

from __future__ import annotations

import base64

import requests

ADA = "991267001"  # the default workspace's first admin (hdm_infra.intercomemu.knobs.DEFAULT_ADMINS)
BEN = "991267002"


def post(emu, path, body=None, status=200):
    response = emu.api.post(emu.url + path, json=body)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def get(emu, path, status=200, **params):
    response = emu.api.get(emu.url + path, params=params)
    assert response.status_code == status, response.text
    return response.json()


def put(emu, path, body, status=200):
    response = emu.api.put(emu.url + path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def errors(body):
    assert body["type"] == "error.list" and body["request_id"]
    return [(e["code"], e.get("message", "")) for e in body["errors"]]


def ticket_type_with_priority(emu):
    tt = post(emu, "/ticket_types", {"name": "Support request", "description": "migrated", "category": "Customer"})
    attr = post(emu, f"/ticket_types/{tt['id']}/attributes", {
        "name": "priority", "description": "osTicket priority", "data_type": "list", "list_items": "Low,Normal,High"})
    return tt, {o["label"]: o["id"] for o in attr["input_options"]["list_options"]}


def contact(emu, email="ann@customer.example", **extra):
    return post(emu, "/contacts", {"role": "user", "email": email, "name": "Ann", **extra})


# ----- transport ----------------------------------------------------------------------------------------------------
def test_bearer_auth_is_required_and_errors_are_error_lists(intercomemu):
    plain = requests.Session()
    plain.verify, plain.trust_env = str(intercomemu.running.cert_path), False
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {intercomemu.access_token}"}):
        response = plain.get(intercomemu.url + "/admins", headers=headers)
        assert response.status_code == 401
        assert errors(response.json()) == [("unauthorized", "Access Token Invalid")]
        # "They are not sent when the request has no valid credentials"
        assert "X-RateLimit-Limit" not in response.headers
    ok = plain.get(intercomemu.url + "/admins", headers={"Authorization": f"Bearer {intercomemu.access_token}"})
    assert ok.status_code == 200 and ok.json()["type"] == "admin.list"


def test_rate_limit_headers_and_intercom_version_on_every_authenticated_response(intercomemu):
    first = intercomemu.api.get(intercomemu.url + "/teams")
    second = intercomemu.api.get(intercomemu.url + "/contacts/000000000000000000000000")
    assert second.status_code == 404
    for response in (first, second):
        # 10,000/min spread over 10-second windows: ceil(10000 / 6) per window
        assert response.headers["X-RateLimit-Limit"] == "1667"
        assert int(response.headers["X-RateLimit-Reset"]) % 10 == 0
        assert response.headers["Intercom-Version"] == "2.16"
    assert int(second.headers["X-RateLimit-Remaining"]) < int(first.headers["X-RateLimit-Remaining"]) or \
        second.headers["X-RateLimit-Reset"] != first.headers["X-RateLimit-Reset"]
    older = intercomemu.api.get(intercomemu.url + "/teams", headers={"Intercom-Version": "2.11"})
    assert older.headers["Intercom-Version"] == "2.11"
    bad = intercomemu.api.get(intercomemu.url + "/teams", headers={"Intercom-Version": "9.9"})
    assert bad.status_code == 400 and "Intercom-Version" in bad.text


def test_unknown_paths_and_unemulated_operations_answer_error_lists(intercomemu):
    assert errors(get(intercomemu, "/no/such/thing", status=404))[0][0] == "not_found"
    assert errors(get(intercomemu, "/articles", status=501))[0][0] == "not_implemented"


# ----- admins, teams ------------------------------------------------------------------------------------------------
def test_admins_and_teams_come_from_the_seed_and_cannot_be_created(intercomemu):
    admins = get(intercomemu, "/admins")["admins"]
    assert [a["email"] for a in admins] == ["ada@support.example", "ben@support.example"]
    assert get(intercomemu, "/teams")["teams"][0]["name"] == "Support"
    # the spec has no POST /admins or POST /teams: teammates and teams are made in the UI (here: the admin API)
    for path, body in (("/admins", {"email": "x@y.z"}), ("/teams", {"name": "x"})):
        response = intercomemu.api.post(intercomemu.url + path, json=body)
        assert response.status_code == 405 and errors(response.json())[0][0] == "method_not_allowed"
    intercomemu.admin.reset(admins=[{"id": "77", "email": "zoe@support.example", "name": "Zoe"}],
                            teams=[{"id": "9", "name": "Billing", "admin_ids": [77]}])
    assert [a["id"] for a in get(intercomemu, "/admins")["admins"]] == ["77"]
    assert get(intercomemu, "/teams/9")["name"] == "Billing"
    assert get(intercomemu, "/me")["email"] == "zoe@support.example"


# ----- contacts -----------------------------------------------------------------------------------------------------
def test_duplicate_contact_by_email_or_external_id_is_409_naming_the_existing_id(intercomemu):
    ann = contact(intercomemu, external_id="ost-1")
    by_email = post(intercomemu, "/contacts", {"email": "ANN@customer.example"}, status=409)
    assert errors(by_email) == [("conflict", f"A contact matching those details already exists with id={ann['id']}")]
    by_external = post(intercomemu, "/contacts", {"external_id": "ost-1", "email": "other@x.example"}, status=409)
    assert ann["id"] in errors(by_external)[0][1]
    post(intercomemu, f"/contacts/{ann['id']}/archive")
    archived = post(intercomemu, "/contacts", {"external_id": "ost-1"}, status=409)
    assert errors(archived)[0][1].startswith("An archived contact")
    # leads may share an email with a user
    assert post(intercomemu, "/contacts", {"role": "lead", "email": "ann@customer.example"})["role"] == "lead"


def test_contact_updates_change_only_contact_fields(intercomemu):
    ann = contact(intercomemu, external_id="ost-1")
    updated = put(intercomemu, f"/contacts/{ann['id']}", {"id": "forged", "created_at": 1, "name": "Ann B",
                                                          "role": "lead"})
    assert (updated["id"], updated["created_at"], updated["name"], updated["role"]) == (
        ann["id"], ann["created_at"], "Ann B", "lead")
    assert errors(put(intercomemu, f"/contacts/{ann['id']}", {"role": "admin"}, status=400))[0][0] == \
        "parameter_invalid"
    bob = contact(intercomemu, email="bob@customer.example")
    taken = put(intercomemu, f"/contacts/{bob['id']}", {"external_id": "ost-1"}, status=409)
    assert ann["id"] in errors(taken)[0][1]


def test_contacts_are_found_by_id_external_id_and_listed_with_cursor_paging(intercomemu):
    made = [contact(intercomemu, email=f"c{i}@x.example", external_id=f"e{i}") for i in range(5)]
    assert get(intercomemu, f"/contacts/{made[2]['id']}")["email"] == "c2@x.example"
    assert get(intercomemu, "/contacts/find_by_external_id/e3")["id"] == made[3]["id"]
    seen, cursor = [], None
    for _ in range(10):
        params = {"per_page": 2, **({"starting_after": cursor} if cursor else {})}
        page = get(intercomemu, "/contacts", **params)
        seen += [c["id"] for c in page["data"]]
        cursor = (page["pages"].get("next") or {}).get("starting_after")
        if not cursor:
            break
    assert seen == [c["id"] for c in made] and page["total_count"] == 5


def test_custom_attributes_must_exist_as_data_attributes(intercomemu):
    refused = post(intercomemu, "/contacts", {"email": "a@x.example", "custom_attributes": {"ost_id": "1"}},
                   status=400)
    assert "ost_id" in errors(refused)[0][1]
    post(intercomemu, "/data_attributes", {"name": "ost_id", "model": "contact", "data_type": "string"})
    made = post(intercomemu, "/contacts", {"email": "a@x.example", "custom_attributes": {"ost_id": "1"}})
    assert made["custom_attributes"] == {"ost_id": "1"}


# ----- companies ----------------------------------------------------------------------------------------------------
def test_companies_upsert_by_company_id_and_are_listed_only_once_a_contact_is_attached(intercomemu):
    first = post(intercomemu, "/companies", {"company_id": "org-7", "name": "Acme", "remote_created_at": 1_300_000_000})
    again = post(intercomemu, "/companies", {"company_id": "org-7", "name": "Acme Ltd", "size": 12})
    assert again["id"] == first["id"] and again["name"] == "Acme Ltd" and again["remote_created_at"] == 1_300_000_000
    assert get(intercomemu, "/companies")["data"] == []
    assert post(intercomemu, "/companies/list")["data"] == []
    # a lookup by company_id still finds it (the spec's answer is a company_list)
    assert [c["id"] for c in get(intercomemu, "/companies", company_id="org-7")["data"]] == [first["id"]]
    ann = contact(intercomemu)
    post(intercomemu, f"/contacts/{ann['id']}/companies", {"id": first["id"]})
    listed = get(intercomemu, "/companies")["data"]
    assert [c["id"] for c in listed] == [first["id"]] and listed[0]["user_count"] == 1
    assert get(intercomemu, f"/contacts/{ann['id']}")["companies"]["data"][0]["id"] == first["id"]
    assert put(intercomemu, f"/companies/{first['id']}", {"industry": "Retail"})["industry"] == "Retail"


# ----- tickets ------------------------------------------------------------------------------------------------------
def test_ticket_created_with_history_time_list_item_ids_and_distinct_ticket_id(intercomemu):
    tt, items = ticket_type_with_priority(intercomemu)
    assert [a["name"] for a in get(intercomemu, f"/ticket_types/{tt['id']}")["ticket_type_attributes"][
        "ticket_type_attributes"]] == ["_default_title_", "_default_description_", "priority"]
    ann = contact(intercomemu)
    body = {"ticket_type_id": tt["id"], "contacts": [{"id": ann["id"]}], "created_at": 1_400_000_000,
            "ticket_attributes": {"_default_title_": "Printer", "_default_description_": "On fire",
                                  "priority": items["High"]},
            "assignment": {"admin_assignee_id": ADA, "team_assignee_id": "5001"}}
    ticket = post(intercomemu, "/tickets", body)
    assert ticket["created_at"] == 1_400_000_000
    assert ticket["ticket_id"] != ticket["id"]
    assert ticket["ticket_attributes"]["priority"] == items["High"]
    assert ticket["admin_assignee_id"] == int(ADA) and ticket["ticket_state"]["category"] == "submitted"
    by_label = post(intercomemu, "/tickets", {**body, "ticket_attributes": {"priority": "High"}}, status=400)
    assert items["High"] in errors(by_label)[0][1]  # the message names the item ids
    unknown = post(intercomemu, "/tickets", {**body, "ticket_attributes": {"sla": "x"}}, status=400)
    assert "sla" in errors(unknown)[0][1]
    second = post(intercomemu, "/tickets", {k: v for k, v in body.items() if k != "created_at"})
    assert int(second["ticket_id"]) == int(ticket["ticket_id"]) + 1


def test_ticket_parts_keep_created_at_order_author_and_notes_are_never_delivered(intercomemu):
    tt, _ = ticket_type_with_priority(intercomemu)
    ann = contact(intercomemu, external_id="ost-9")
    ticket = post(intercomemu, "/tickets", {"ticket_type_id": tt["id"], "contacts": [{"external_id": "ost-9"}],
                                            "created_at": 1_400_000_000,
                                            "ticket_attributes": {"_default_title_": "T"}})
    tid = ticket["id"]
    user = post(intercomemu, f"/tickets/{tid}/reply", {"message_type": "comment", "type": "user", "body": "help",
                                                      "user_id": "ost-9", "created_at": 1_400_000_100})
    agent = post(intercomemu, f"/tickets/{tid}/reply", {"message_type": "comment", "type": "admin", "admin_id": BEN,
                                                       "body": "<p>on it</p>", "created_at": 1_400_000_200})
    note = post(intercomemu, f"/tickets/{tid}/reply", {"message_type": "note", "type": "admin", "admin_id": ADA,
                                                      "body": "<b>internal</b>", "created_at": 1_400_000_300})
    assert (user["author"]["type"], user["author"]["id"]) == ("user", ann["id"])
    assert (agent["author"]["id"], agent["part_type"]) == (BEN, "comment")
    assert note["part_type"] == "note" and note["created_at"] == 1_400_000_300
    parts = get(intercomemu, f"/tickets/{tid}")["ticket_parts"]["ticket_parts"]
    assert [(p["part_type"], p["created_at"]) for p in parts] == [
        ("comment", 1_400_000_100), ("comment", 1_400_000_200), ("note", 1_400_000_300)]
    delivered = intercomemu.admin.deliveries()
    assert [(d["part_type"], d["part_id"]) for d in delivered] == [("ticket_created", None), ("comment", agent["id"])]
    # the reply's admin must exist
    missing = post(intercomemu, f"/tickets/{tid}/reply", {"message_type": "note", "type": "admin",
                                                         "admin_id": "1", "body": "x"}, status=404)
    assert errors(missing)[0][0] == "admin_not_found"


def test_tagging_a_ticket_or_conversation_requires_admin_id(intercomemu):
    tt, _ = ticket_type_with_priority(intercomemu)
    ann = contact(intercomemu)
    ticket = post(intercomemu, "/tickets", {"ticket_type_id": tt["id"], "contacts": [{"id": ann["id"]}]})
    tag = post(intercomemu, "/tags", {"name": "Billing"})
    assert post(intercomemu, "/tags", {"name": "billing"})["id"] == tag["id"]  # names are case-insensitive
    refused = post(intercomemu, f"/tickets/{ticket['id']}/tags", {"id": tag["id"]}, status=400)
    assert "admin_id" in errors(refused)[0][1]
    applied = post(intercomemu, f"/tickets/{ticket['id']}/tags", {"id": tag["id"], "admin_id": ADA})
    assert applied["applied_by"]["id"] == ADA
    msg = post(intercomemu, "/conversations", {"from": {"type": "user", "id": ann["id"]}, "body": "hi"})
    refused = post(intercomemu, f"/conversations/{msg['conversation_id']}/tags", {"id": tag["id"]}, status=400)
    assert "admin_id" in errors(refused)[0][1]
    post(intercomemu, f"/conversations/{msg['conversation_id']}/tags", {"id": tag["id"], "admin_id": BEN})
    conv = get(intercomemu, f"/conversations/{msg['conversation_id']}")
    assert [t["name"] for t in conv["tags"]["tags"]] == ["Billing"]


# ----- conversations ------------------------------------------------------------------------------------------------
def test_conversation_with_history_times_replies_notes_and_attachments(intercomemu):
    ann = contact(intercomemu)
    msg = post(intercomemu, "/conversations", {"from": {"type": "user", "id": ann["id"]}, "body": "Hello",
                                               "subject": "Printer", "created_at": 1_300_000_000})
    assert msg["type"] == "user_message"
    cid = msg["conversation_id"]
    data = base64.b64encode(b"log line\n").decode()
    conv = post(intercomemu, f"/conversations/{cid}/reply", {
        "message_type": "comment", "type": "admin", "admin_id": ADA, "body": "see attached",
        "created_at": 1_300_000_050, "attachment_files": [{"name": "log.txt", "content_type": "text/plain",
                                                            "data": data}]})
    post(intercomemu, f"/conversations/{cid}/reply", {"message_type": "note", "type": "admin", "admin_id": BEN,
                                                      "body": "private", "created_at": 1_300_000_060})
    post(intercomemu, f"/conversations/{cid}/reply", {"message_type": "comment", "type": "user",
                                                      "intercom_user_id": ann["id"], "body": "thanks",
                                                      "created_at": 1_300_000_070})
    conv = get(intercomemu, f"/conversations/{cid}")
    assert conv["created_at"] == 1_300_000_000 and conv["source"]["subject"] == "Printer"
    parts = conv["conversation_parts"]["conversation_parts"]
    assert [(p["part_type"], p["author"]["type"], p["created_at"]) for p in parts] == [
        ("comment", "admin", 1_300_000_050), ("note", "admin", 1_300_000_060), ("comment", "user", 1_300_000_070)]
    attachment = parts[0]["attachments"][0]
    assert (attachment["name"], attachment["content_type"], attachment["filesize"]) == ("log.txt", "text/plain", 9)
    assert [d["part_id"] for d in intercomemu.admin.deliveries()] == [parts[0]["id"]]  # not the note


def test_skip_notifications_and_state_changes(intercomemu):
    tt, _ = ticket_type_with_priority(intercomemu)
    ann = contact(intercomemu)
    quiet = post(intercomemu, "/tickets", {"ticket_type_id": tt["id"], "contacts": [{"id": ann["id"]}],
                                           "skip_notifications": True})
    post(intercomemu, f"/tickets/{quiet['id']}/reply", {"message_type": "comment", "type": "admin", "admin_id": ADA,
                                                        "body": "history", "skip_notifications": True})
    assert intercomemu.admin.deliveries() == []  # a migration can load history without mailing anyone
    resolved = put(intercomemu, f"/tickets/{quiet['id']}", {"ticket_state_id": "4"})
    assert resolved["ticket_state"]["category"] == "resolved" and resolved["open"] is False
    assert resolved["previous_ticket_state_id"] == "1"
    reopened = put(intercomemu, f"/tickets/{quiet['id']}", {"ticket_state_id": "2"})
    assert reopened["open"] is True
    assigned = put(intercomemu, f"/tickets/{quiet['id']}", {"admin_id": int(ADA), "assignee_id": BEN})
    assert assigned["admin_assignee_id"] == int(BEN)
    refused = emu_put_status(intercomemu, f"/tickets/{quiet['id']}", {"assignee_id": BEN})
    assert refused == 400  # assigning needs the acting admin_id


def emu_put_status(emu, path, body):
    return emu.api.put(emu.url + path, json=body).status_code


def test_reads_return_only_the_most_recent_parts(intercomemu):
    intercomemu.admin.knobs(max_parts_returned=3)  # Intercom's hard limit is 500
    tt, _ = ticket_type_with_priority(intercomemu)
    ann = contact(intercomemu)
    ticket = post(intercomemu, "/tickets", {"ticket_type_id": tt["id"], "contacts": [{"id": ann["id"]}]})
    for i in range(5):
        post(intercomemu, f"/tickets/{ticket['id']}/reply", {"message_type": "note", "type": "admin",
                                                             "admin_id": ADA, "body": f"n{i}"})
    parts = get(intercomemu, f"/tickets/{ticket['id']}")["ticket_parts"]
    assert [p["body"] for p in parts["ticket_parts"]] == ["n2", "n3", "n4"] and parts["total_count"] == 5
