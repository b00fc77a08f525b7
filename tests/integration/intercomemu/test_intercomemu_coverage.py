"""Every operation the emulator implements, called once with sparse and full data: each answers without a 5xx and
every answer validated against the spec (the fixture's cross-check with openapi-core included)."""

from __future__ import annotations

import base64

ADA = "991267001"


def test_every_emulated_operation_answers_valid_responses(intercomemu):
    api, url = intercomemu.api, intercomemu.url
    seen: list[tuple[str, str, int]] = []

    def do(method, path, body=None, expect=200, **params):
        response = api.request(method, url + path, json=body, params=params or None)
        seen.append((method, path, response.status_code))
        assert response.status_code == expect, (method, path, response.text)
        return response.json() if response.content else None

    do("GET", "/me")
    do("GET", "/admins")
    do("GET", f"/admins/{ADA}")
    do("GET", "/teams")
    do("GET", "/teams/5001")
    do("POST", "/data_attributes", {"name": "plan_tier", "model": "contact", "data_type": "string"})
    attr = do("POST", "/data_attributes", {"name": "tier", "model": "company", "data_type": "options",
                                           "options": [{"value": "gold"}, {"value": "silver"}]})
    do("PUT", f"/data_attributes/{attr['id']}", {"archived": False, "description": "tier"})
    do("GET", "/data_attributes", model="company", include_archived="true")
    lead = do("POST", "/contacts", {"role": "lead"})  # nothing but a role: no email, no name
    phone_only = do("POST", "/contacts", {"external_id": "p-1", "phone": "+15550100"})
    full = do("POST", "/contacts", {"role": "user", "email": "full@x.example", "external_id": "f-1", "name": "Full",
                                    "phone": "+15550101", "avatar": "https://x.example/a.png",
                                    "signed_up_at": 1_500_000_000, "last_seen_at": 1_500_000_100,
                                    "owner_id": ADA, "unsubscribed_from_emails": True,
                                    "custom_attributes": {"plan_tier": "gold"}})
    do("PUT", f"/contacts/{phone_only['id']}", {"name": "Phone Only", "custom_attributes": {"plan_tier": "x"}})
    do("GET", f"/contacts/{lead['id']}")
    do("GET", "/contacts/find_by_external_id/f-1")
    do("GET", "/contacts", per_page=2)
    do("POST", "/contacts/search", {"query": {"field": "role", "operator": "=", "value": "lead"},
                                    "sort": {"field": "created_at", "order": "descending"}})
    bare = do("POST", "/companies", {"company_id": "bare"})
    company = do("POST", "/companies", {"company_id": "full", "name": "Full Co", "plan": "pro", "size": 5,
                                        "website": "https://full.example", "industry": "Retail",
                                        "remote_created_at": 1_400_000_000, "monthly_spend": 100,
                                        "custom_attributes": {"tier": "gold"}})
    do("PUT", f"/companies/{company['id']}", {"size": 6})
    do("POST", f"/contacts/{full['id']}/companies", {"id": company["id"]})
    do("POST", f"/contacts/{full['id']}/companies", {"id": bare["id"]})
    do("GET", f"/contacts/{full['id']}/companies")
    do("DELETE", f"/contacts/{full['id']}/companies/{bare['id']}")
    do("GET", f"/companies/{company['id']}")
    do("GET", "/companies", company_id="full")
    do("GET", "/companies", name="Full Co")
    do("GET", "/companies")
    do("POST", "/companies/list", order="asc")
    do("GET", "/companies/scroll")
    do("GET", f"/companies/{company['id']}/contacts")
    tag = do("POST", "/tags", {"name": "vip"})
    do("POST", "/tags", {"id": tag["id"], "name": "VIP customers"})
    do("POST", "/tags", {"name": "vip-co", "companies": [{"company_id": "full"}]})
    do("POST", "/tags", {"name": "vip-co", "companies": [{"id": company["id"], "untag": True}]})
    do("POST", "/tags", {"name": "bulk", "users": [{"id": full["id"]}, {"id": lead["id"]}]})
    do("GET", f"/tags/{tag['id']}")
    do("GET", "/tags")
    do("POST", f"/contacts/{full['id']}/tags", {"id": tag["id"]})
    do("GET", f"/contacts/{full['id']}/tags")
    do("DELETE", f"/contacts/{full['id']}/tags/{tag['id']}")
    note = do("POST", f"/contacts/{full['id']}/notes", {"body": "<p>called</p>", "admin_id": ADA})
    do("POST", f"/contacts/{lead['id']}/notes", {"body": "no author"})
    do("GET", f"/contacts/{full['id']}/notes")
    do("GET", f"/notes/{note['id']}")
    tt = do("POST", "/ticket_types", {"name": "Bug", "description": "d", "category": "Tracker", "icon": "🐞",
                                      "is_internal": False})
    do("PUT", f"/ticket_types/{tt['id']}", {"description": "bugs"})
    attr_ids = {}
    for name, kind, extra in (("sla", "string", {"multiline": True}), ("count", "integer", {}),
                              ("ratio", "decimal", {}), ("overdue", "boolean", {}), ("due", "datetime", {}),
                              ("prio", "list", {"list_items": "Low,High"}), ("docs", "files", {})):
        made = do("POST", f"/ticket_types/{tt['id']}/attributes", {"name": name, "description": name,
                                                                  "data_type": kind, **extra})
        attr_ids[name] = made
    do("PUT", f"/ticket_types/{tt['id']}/attributes/{attr_ids['prio']['id']}", {"list_items": "Low,High,Urgent"})
    do("GET", f"/ticket_types/{tt['id']}")
    do("GET", "/ticket_types")
    do("GET", "/ticket_states")
    attributes = do("GET", f"/ticket_types/{tt['id']}")["ticket_type_attributes"]["ticket_type_attributes"]
    prio = next(a for a in attributes if a["name"] == "prio")
    assert [o["label"] for o in prio["input_options"]["list_options"]] == ["Low", "High", "Urgent"]
    high = next(o["id"] for o in prio["input_options"]["list_options"] if o["label"] == "High")
    assert high == attr_ids["prio"]["input_options"]["list_options"][1]["id"]  # an item keeps its id on update
    ticket = do("POST", "/tickets", {"ticket_type_id": tt["id"], "contacts": [{"email": "new@x.example"}],
                                     "company_id": company["id"], "created_at": 1_450_000_000,
                                     "ticket_attributes": {"_default_title_": "T", "_default_description_": "D",
                                                           "sla": "Gold", "count": 3, "ratio": 0.5,
                                                           "overdue": True, "due": 1_460_000_000, "prio": high},
                                     "assignment": {"admin_assignee_id": ADA, "team_assignee_id": "5001"},
                                     "skip_notifications": True})
    sparse = do("POST", "/tickets", {"ticket_type_id": tt["id"], "contacts": [{"id": lead["id"]}]})
    job = do("POST", "/tickets/enqueue", {"ticket_type_id": tt["id"], "contacts": [{"external_id": "p-1"}]})
    do("GET", f"/jobs/status/{job['id']}")
    data = base64.b64encode(b"%PDF-1.4").decode()
    do("POST", f"/tickets/{ticket['id']}/reply", {"message_type": "note", "type": "admin", "admin_id": ADA,
                                                  "body": "<b>n</b>", "created_at": 1_450_000_100,
                                                  "attachment_files": [{"name": "a.pdf", "content_type":
                                                                        "application/pdf", "data": data}]})
    do("POST", f"/tickets/{ticket['id']}/reply", {"message_type": "quick_reply", "type": "admin", "admin_id": ADA,
                                                  "reply_options": [{"text": "Yes", "uuid": "1b1e5d4c-6f2a-4b8e-"
                                                                     "9f3d-2c7a8e9b0d1f"}]})
    do("POST", f"/tickets/{ticket['id']}/reply", {"message_type": "comment", "type": "user",
                                                  "email": "new@x.example", "body": "thanks"})
    do("PUT", f"/tickets/{ticket['id']}", {"ticket_attributes": {"count": 4}, "ticket_state_id": "3",
                                           "is_shared": True, "snoozed_until": 1_900_000_000,
                                           "company_id": company["id"]})
    do("GET", f"/tickets/{ticket['id']}")
    do("POST", "/tickets/search", {"query": {"operator": "OR", "value": [
        {"field": "created_at", "operator": "<=", "value": 1_450_000_000},
        {"field": "ticket_attributes.sla", "operator": "~", "value": "Gol"}]}, "pagination": {"per_page": 5}})
    do("POST", f"/tickets/{ticket['id']}/tags", {"id": tag["id"], "admin_id": ADA})
    do("DELETE", f"/tickets/{ticket['id']}/tags/{tag['id']}", {"admin_id": ADA})
    do("DELETE", f"/tickets/{sparse['id']}")
    msg = do("POST", "/conversations", {"from": {"type": "lead", "id": lead["id"]}, "body": "hi", "subject": "S",
                                        "attachment_urls": ["https://x.example/shot.png"],
                                        "created_at": 1_300_000_000})
    cid = msg["conversation_id"]
    do("POST", f"/conversations/{cid}/reply", {"message_type": "comment", "type": "admin", "admin_id": ADA,
                                               "body": "hello", "attachment_urls": ["https://x.example/b.png"]})
    do("POST", f"/conversations/{cid}/reply", {"message_type": "comment", "type": "user",
                                               "intercom_user_id": lead["id"], "body": "ok"})
    for body in ({"message_type": "assignment", "type": "team", "admin_id": ADA, "assignee_id": "5001"},
                 {"message_type": "assignment", "type": "admin", "admin_id": ADA, "assignee_id": ADA},
                 {"message_type": "snoozed", "admin_id": ADA, "snoozed_until": 1_900_000_000},
                 {"message_type": "open", "admin_id": ADA},
                 {"message_type": "close", "type": "admin", "admin_id": ADA, "body": "done"}):
        do("POST", f"/conversations/{cid}/parts", body)
    do("PUT", f"/conversations/{cid}", {"read": True, "title": "Renamed"})
    do("POST", f"/conversations/{cid}/tags", {"id": tag["id"], "admin_id": ADA})
    do("DELETE", f"/conversations/{cid}/tags/{tag['id']}", {"admin_id": ADA})
    do("GET", f"/conversations/{cid}")
    do("GET", "/conversations", per_page=1)
    do("POST", "/conversations/search", {"query": {"field": "state", "operator": "=", "value": "closed"}})
    do("DELETE", f"/conversations/{cid}")
    do("POST", f"/contacts/{phone_only['id']}/archive")
    do("POST", f"/contacts/{phone_only['id']}/unarchive")
    do("DELETE", f"/companies/{bare['id']}")
    do("DELETE", f"/tags/{tag['id']}")
    do("DELETE", f"/contacts/{lead['id']}")

    implemented = set(intercomemu.admin.counters()["families"])
    assert len(implemented) == 65, sorted(implemented)  # every op_<operationId> of workspace.py was called
    assert not [s for s in seen if s[2] >= 500]
