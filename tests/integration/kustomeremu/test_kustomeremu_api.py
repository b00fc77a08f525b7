"""The Kustomer emulator's REST surface with plain requests: bearer keys and roles, the JSON:API envelope, page
sizes and their maxima, the org's records (customers with and without a company, conversations, messages whose
meta to/cc/bcc take every real shape, notes, downloadable attachments, KObjects with lookups and orphans, metadata,
SLAs with versions, the automation inventory) and the call counters. One seeded org for the whole module."""

from __future__ import annotations

import collections

import pytest
from hdm_infra.testing.kustomeremu import read_all, search_page, seed_org

CUSTOMERS = 60


@pytest.fixture(scope="module")
def org(kustomeremu_server):
    handle, seeded = seed_org(kustomeremu_server, CUSTOMERS, seed=5)
    handle.seeded = seeded
    return handle


@pytest.fixture(autouse=True)
def default_knobs(org):
    org.admin.replace_knobs({})
    org.admin.reset_rate_window()


@pytest.fixture(scope="module")
def everything(org):
    """Every record of the main collections, read through the API once."""
    http = org.session()
    return {name: read_all(http, org.api_base, f"/{name}")
            for name in ("customers", "conversations", "messages", "notes", "companies", "users")}


def test_a_key_is_a_bearer_token_and_a_bad_one_gets_401_in_the_error_shape(org):
    http = org.session()
    me = http.get(f"{org.api_base}/users/current", timeout=30)
    assert me.status_code == 200 and me.json()["data"]["attributes"]["userType"] == "machine"
    token = http.get(f"{org.api_base}/auth/tokens/current", timeout=30).json()["data"]
    assert "org.permission.customer.read" in token["attributes"]["roles"]
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {org.running.api_key}"}):
        bad = org.session()
        bad.headers.pop("Authorization")
        response = bad.get(f"{org.api_base}/customers", headers=headers, timeout=30)
        assert response.status_code == 401
        error = response.json()["errors"][0]
        assert error["status"] == 401 and error["title"] == "Unauthorized"
        assert "x-ratelimit-remaining" in response.headers  # every response carries the rate-limit headers


def test_a_key_lacking_a_role_gets_403_for_lists_searches_and_children(org):
    only_customers = org.admin.create_key("customers-only", ["org.permission.customer.read"])
    http = org.session(only_customers)
    assert http.get(f"{org.api_base}/customers", timeout=30).status_code == 200
    denied = [http.get(f"{org.api_base}/conversations", timeout=30),
              search_page(http, org.api_base, {"queryContext": "conversation"}),
              http.get(f"{org.api_base}/klasses/order", timeout=30)]
    customer = http.get(f"{org.api_base}/customers?pageSize=1", timeout=30).json()["data"][0]
    denied.append(http.get(f"{org.api_base}/customers/{customer['id']}/conversations", timeout=30))
    for response in denied:
        assert response.status_code == 403, response.text
        error = response.json()["errors"][0]
        assert error["status"] == 403 and error["code"] == "missing_role" and ".read" in error["detail"]
    assert search_page(http, org.api_base, {"queryContext": "customer"}).status_code == 200
    legacy = org.session(org.admin.create_key("legacy", ["org.user.conversation.read"]))
    assert legacy.get(f"{org.api_base}/conversations", timeout=30).status_code == 200  # the legacy role spelling
    org.admin.knobs(missing_role_status=401)  # the errors page lists "missing role" under 401: switchable
    assert http.get(f"{org.api_base}/conversations", timeout=30).status_code == 401


def test_the_envelope_has_data_meta_and_links_with_type_id_attributes_relationships(org):
    http = org.session()
    body = http.get(f"{org.api_base}/conversations", params={"page": 2, "pageSize": 5}, timeout=30).json()
    assert set(body) == {"data", "meta", "links"}
    assert body["meta"]["page"] == 2 and body["meta"]["pageSize"] == 5 and body["meta"]["total"] > 10
    assert body["links"]["self"] == "/v1/conversations?page=2&pageSize=5"
    assert body["links"]["prev"] == "/v1/conversations?page=1&pageSize=5"
    assert body["links"]["next"] == "/v1/conversations?page=3&pageSize=5"
    for record in body["data"]:
        assert record["type"] == "conversation" and len(record["id"]) == 24
        assert {"status", "priority", "channels", "assignedUsers", "assignedTeams", "tags", "custom", "createdAt",
                "updatedAt"} <= set(record["attributes"])
        assert record["relationships"]["customer"]["data"]["type"] == "customer"
        assert record["links"]["self"] == f"/v1/conversations/{record['id']}"
    one = http.get(f"{org.api_base}/conversations/{body['data'][0]['id']}/", timeout=30)  # trailing slash too
    assert one.status_code == 200 and one.json()["data"]["id"] == body["data"][0]["id"]
    missing = http.get(f"{org.api_base}/conversations/000000000000000000000000", timeout=30)
    assert missing.status_code == 404 and missing.json()["errors"][0]["status"] == 404
    desc = http.get(f"{org.api_base}/conversations", params={"sort": "desc", "pageSize": 3}, timeout=30).json()
    ids = [r["id"] for r in desc["data"]]
    assert ids == sorted(ids, reverse=True) and ids[0] > body["data"][0]["id"]


def test_page_size_maxima_are_100_for_lists_and_500_for_users_teams_and_search(org):
    http = org.session()
    customers = http.get(f"{org.api_base}/customers", params={"pageSize": 500}, timeout=30).json()
    assert customers["meta"]["pageSize"] == 100 and len(customers["data"]) == CUSTOMERS  # 60 < 100
    messages = http.get(f"{org.api_base}/messages", params={"pageSize": 1000}, timeout=30).json()
    assert messages["meta"]["pageSize"] == 100 and len(messages["data"]) == 100 and messages["links"]["next"]
    assert http.get(f"{org.api_base}/users", params={"pageSize": 500}, timeout=30).json()["meta"]["pageSize"] == 500
    assert http.get(f"{org.api_base}/teams", params={"pageSize": 900}, timeout=30).json()["meta"]["pageSize"] == 500
    search = search_page(http, org.api_base, {"queryContext": "message"}, page_size=2000).json()
    assert search["meta"]["pageSize"] == 500 and len(search["data"]) == search["meta"]["total"] > 100
    org.admin.knobs(oversize_page="error")
    refused = http.get(f"{org.api_base}/customers", params={"pageSize": 101}, timeout=30)
    assert refused.status_code == 400 and "100" in refused.json()["errors"][0]["detail"]
    assert http.get(f"{org.api_base}/customers", params={"page": 0}, timeout=30).status_code == 400


def test_following_links_next_reads_every_record_once(org, everything):
    walked = read_all(org.session(), org.api_base, "/customers", page_size=7)
    assert len(walked) == CUSTOMERS == len({c["id"] for c in walked})
    assert {c["id"] for c in walked} == {c["id"] for c in everything["customers"]}


def test_customers_come_with_and_without_a_company_and_carry_emails_phones_external_ids(org, everything):
    companies = {c["id"]: c for c in everything["companies"]}
    with_company = [c for c in everything["customers"] if "company" in c["relationships"]]
    without = [c for c in everything["customers"] if "company" not in c["relationships"]]
    assert with_company and without  # the Contact/Lead split needs both
    for customer in with_company:
        company = companies[customer["relationships"]["company"]["data"]["id"]]
        assert customer["attributes"]["companyName"] == company["attributes"]["name"]
        assert customer["attributes"]["custom"]["customerTypeStr"] == "customer"
    assert all(c["attributes"]["custom"]["customerTypeStr"] == "lead" for c in without)
    attrs = [c["attributes"] for c in everything["customers"]]
    assert any(a["phones"] for a in attrs) and any(a["externalIds"] for a in attrs)
    assert any(not a["emails"] for a in attrs) and any(len(a["emails"]) == 2 for a in attrs)
    assert all("lifecycleStageStr" in a["custom"] for a in attrs)


def test_conversations_have_every_status_priorities_channels_assignees_tags_and_typed_custom_attributes(everything):
    convs = [c["attributes"] for c in everything["conversations"]]
    assert {c["status"] for c in convs} == {"open", "snoozed", "done"}
    assert {c["priority"] for c in convs} <= {1, 2, 3, 4, 5} and len({c["priority"] for c in convs}) >= 4
    assert len({ch for c in convs for ch in c["channels"]}) >= 3
    assert any(c["assignedUsers"] for c in convs) and any(c["assignedTeams"] for c in convs)
    assert any(c["tags"] for c in convs)
    names = {name for c in convs for name in c["custom"]}
    for suffix in ("Str", "Num", "At", "Bool", "Tree"):  # fooStr, barNum, bazAt, quxBool, reasonTree
        assert any(name.endswith(suffix) for name in names), suffix
    assert all(c["snooze"] for c in convs if c["status"] == "snoozed")


def test_message_meta_to_cc_bcc_come_as_object_string_or_list(everything):
    messages = [m["attributes"] for m in everything["messages"]]
    email = [m for m in messages if m["channel"] == "email"]
    shapes = collections.Counter(type(m["meta"]["to"]).__name__ for m in email)
    assert set(shapes) == {"list", "dict", "str"}, shapes
    cc_shapes = {type(m["meta"]["cc"]).__name__ for m in email if "cc" in m["meta"]}
    assert len(cc_shapes) >= 2
    assert {m["direction"] for m in messages} == {"in", "out"}
    assert {"initial-in", "response-out"} <= {m["directionType"] for m in messages}
    assert len({m["channel"] for m in messages}) >= 3
    assert all(m["meta"]["from"] and m["meta"]["subject"] for m in email)
    assert any("inReplyTo" in m["meta"] for m in email)


def test_messages_notes_and_attachments_hang_off_their_conversation_and_attachments_download(org, everything):
    http = org.session()
    conv = next(c for c in everything["conversations"] if c["attributes"]["noteCount"])
    msgs = http.get(f"{org.api_base}/conversations/{conv['id']}/messages", timeout=30).json()["data"]
    assert len(msgs) == conv["attributes"]["messageCount"]
    assert all(m["relationships"]["conversation"]["data"]["id"] == conv["id"] for m in msgs)
    notes = http.get(f"{org.api_base}/conversations/{conv['id']}/notes", timeout=30).json()["data"]
    assert len(notes) == conv["attributes"]["noteCount"] and all(n["attributes"]["body"] for n in notes)
    conv_id = next(m["relationships"]["conversation"]["data"]["id"] for m in everything["messages"]
                   if m["relationships"].get("attachments"))
    files = http.get(f"{org.api_base}/conversations/{conv_id}/attachments", timeout=30).json()["data"]
    assert files
    for attachment in files:
        data = http.get(attachment["links"]["related"], timeout=30)
        assert data.status_code == 200
        assert len(data.content) == attachment["attributes"]["contentLength"]
        assert data.headers["Content-Type"].startswith(attachment["attributes"]["contentType"])
    no_key = org.session()
    no_key.headers.pop("Authorization")
    assert no_key.get(files[0]["links"]["related"], timeout=30).status_code == 401


def test_klasses_kobjects_lookups_and_orphans(org, everything):
    http = org.session()
    klasses = {k["attributes"]["name"]: k for k in read_all(http, org.api_base, "/klasses")}
    assert set(klasses) == {"order", "line_item", "refund"}
    props = klasses["line_item"]["attributes"]["metadata"]["properties"]
    assert props["orderIdStr"]["target"] == "kobject.order" and props["quantityNum"]["type"] == "number"
    orders = read_all(http, org.api_base, "/klasses/order")
    items = read_all(http, org.api_base, "/klasses/line_item")
    refunds = read_all(http, org.api_base, "/klasses/refund")
    assert orders and items and refunds
    order_ids = {o["id"] for o in orders}
    item_ids = {i["id"] for i in items}
    customers = {c["id"] for c in everything["customers"]}
    for kobject in orders + items + refunds:
        assert kobject["type"] == "kobject"
        assert kobject["relationships"]["customer"]["data"]["id"] in customers
        assert kobject["relationships"]["klass"]["data"]["id"] in {k["id"] for k in klasses.values()}
    orphans = [i for i in items if i["attributes"]["custom"]["orderIdStr"] not in order_ids]
    orphans += [r for r in refunds if r["attributes"]["custom"]["lineItemIdStr"] not in item_ids]
    assert len(orphans) == org.seeded["seeded"]["orphans"] == 1  # max(1, 60 // 50)
    one = http.get(f"{org.api_base}/klasses/order/{orders[0]['id']}", timeout=30).json()["data"]
    assert one["id"] == orders[0]["id"] and one["links"]["self"] == f"/v1/klasses/order/{orders[0]['id']}"
    by_ext = http.get(f"{org.api_base}/klasses/order/externalId={orders[0]['attributes']['externalId']}",
                      timeout=30).json()["data"]
    assert by_ext["id"] == orders[0]["id"]
    owner = orders[0]["relationships"]["customer"]["data"]["id"]
    theirs = http.get(f"{org.api_base}/customers/{owner}/klasses/order", timeout=30).json()["data"]
    assert orders[0]["id"] in {o["id"] for o in theirs}
    assert all(o["relationships"]["customer"]["data"]["id"] == owner for o in theirs)
    assert http.get(f"{org.api_base}/klasses/nope", timeout=30).status_code == 404
    searched = search_page(http, org.api_base, {"queryContext": "kobject_refund"}, page_size=500).json()
    assert {r["id"] for r in searched["data"]} == {r["id"] for r in refunds}


def test_custom_attribute_metadata_slas_and_the_automation_inventory(org):
    http = org.session()
    conv_meta = http.get(f"{org.api_base}/metadata/conversation", timeout=30).json()["data"]
    props = conv_meta["attributes"]["properties"]
    assert props["orderNumberStr"]["type"] == "string" and props["followUpAt"]["type"] == "date"
    assert props["refundAmountNum"]["type"] == "number" and props["reasonTree"]["tree"]["children"]
    klass_meta = http.get(f"{org.api_base}/metadata/kobject.refund", timeout=30).json()["data"]
    assert klass_meta["attributes"]["properties"]["lineItemIdStr"]["target"] == "kobject.line_item"
    slas = http.get(f"{org.api_base}/slas", params={"versions": "all"}, timeout=30).json()
    assert len(slas["data"]) == 2 and len(slas["included"]) == 4
    assert {v["relationships"]["sla"]["data"]["id"] for v in slas["included"]} == {s["id"] for s in slas["data"]}
    assert "included" not in http.get(f"{org.api_base}/slas", timeout=30).json()
    workflows = http.get(f"{org.api_base}/workflows", timeout=30).json()["data"]
    rules = http.get(f"{org.api_base}/business-rules", timeout=30).json()["data"]
    assert len(workflows) == 3 and all(w["attributes"]["trigger"]["eventName"] for w in workflows)
    assert len(rules) == 2 and all(r["attributes"]["actions"] for r in rules)
    for path in ("tags", "shortcuts", "teams"):
        assert http.get(f"{org.api_base}/{path}", timeout=30).json()["data"]


def test_calls_are_counted_with_searches_apart(org):
    http = org.session()
    org.admin.clear_counters()
    http.get(f"{org.api_base}/customers", timeout=30)
    http.get(f"{org.api_base}/tags", timeout=30)
    search_page(http, org.api_base, {"queryContext": "customer"})
    search_page(http, org.api_base, {"queryContext": "note"})
    counts = org.admin.counts()
    assert counts["calls"]["searches"] == 2 and counts["calls"]["other"] == 2
    assert counts["calls"]["families"] == {"list_customers": 1, "list_tags": 1, "search_customer": 1,
                                           "search_note": 1}
    assert counts["records"]["customer"] == CUSTOMERS
