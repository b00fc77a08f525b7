"""The v1 envelope, include= / flat side-loading, fields= modifiers, _empty, and both paging styles."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from hdm_infra.testing.kayakoemu import SEED_CASES, KayakoHandle


def session_for(k: KayakoHandle):
    http = k.http()
    first = http.get(k.url("cases"), params={"limit": 1})
    assert first.status_code == 200
    sid = first.json()["session_id"]
    http = k.http(basic=False)
    http.headers["X-Session-ID"] = sid
    return http


def test_list_envelope_and_single(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = session_for(k)
    body = http.get(k.url("cases.json"), params={"limit": 5}).json()
    assert {"status", "data", "resource", "offset", "limit", "total_count", "next_url"} <= set(body)
    assert body["status"] == 200 and body["resource"] == "case"
    assert body["offset"] == 0 and body["limit"] == 5 and body["total_count"] == SEED_CASES
    assert len(body["data"]) == 5 and [c["id"] for c in body["data"]] == sorted(c["id"] for c in body["data"])
    case = body["data"][0]
    assert case["resource_type"] == "case" and case["resource_url"].endswith(f"/api/v1/cases/{case['id']}")
    # nested resources are references unless included
    assert case["requester"] == {"id": case["requester"]["id"], "resource_type": "user"}
    assert case["status"]["resource_type"] == "case_status" and set(case["status"]) == {"id", "resource_type"}
    assert "tags" not in case  # only with fields=+tags
    one = http.get(k.url(f"cases/{case['id']}")).json()
    assert one["status"] == 200 and one["resource"] == "case" and one["data"]["id"] == case["id"]
    assert "offset" not in one
    missing = http.get(k.url("cases/999999"))
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "RESOURCE_NOT_FOUND"
    # default page size is 10
    assert http.get(k.url("cases")).json()["limit"] == 10


def test_include_expands_inline_and_nested(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = session_for(k)
    body = http.get(k.url("cases"), params={"limit": 3, "include": "user,case_status,organization"}).json()
    case = body["data"][0]
    assert case["requester"]["resource_type"] == "user" and "full_name" in case["requester"]
    assert case["status"]["type"] in {"NEW", "OPEN", "PENDING", "COMPLETED", "CLOSED", "CUSTOM"}
    org = case["requester"]["organization"]
    assert org is None or "name" in org  # nested include follows the same rule
    assert set(case["brand"]) == {"id", "resource_type"}  # brand not included
    star = http.get(k.url("cases"), params={"limit": 1, "include": "*"}).json()["data"][0]
    assert "name" in star["brand"] and "type" in star["source_channel"]


def test_flat_mode_side_loads_resources(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = session_for(k)
    body = http.get(k.url("cases"), params={"limit": 4, "include": "user,case_priority", "_flat": "true"}).json()
    assert "resources" in body
    users = body["resources"]["user"]
    for case in body["data"]:
        assert set(case["requester"]) == {"id", "resource_type"}  # references stay in place
        assert users[str(case["requester"]["id"])]["id"] == case["requester"]["id"]
    header = http.get(k.url("cases"), params={"limit": 1, "include": "user"}, headers={"X-Options": "flat"}).json()
    assert "user" in header["resources"]


def test_fields_modifiers_and_empty(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = session_for(k)
    plus = http.get(k.url("cases"), params={"limit": 2, "fields": "+tags", "include": "tag"}).json()["data"]
    assert all("tags" in c for c in plus)
    assert any(t.get("name") for c in plus for t in c["tags"]) or all(c["tags"] == [] for c in plus)
    only = http.get(k.url("cases"), params={"limit": 2, "fields": "subject,state"}).json()["data"]
    assert set(only[0]) == {"id", "subject", "state", "resource_type", "resource_url"}
    minus = http.get(k.url("cases"), params={"limit": 2, "fields": "-custom_fields"}).json()["data"]
    assert "custom_fields" not in minus[0] and "subject" in minus[0]
    full = http.get(k.url("cases"), params={"limit": 10}).json()["data"]
    assert any(v is None for c in full for v in c.values())
    lean = http.get(k.url("cases"), params={"limit": 10, "_empty": "false"}).json()["data"]
    assert not any(v is None or v == [] for c in lean for v in c.values())


def test_offset_paging_covers_everything_once(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = session_for(k)
    seen, url, params, pages = [], k.url("teams"), {"limit": 3}, 0
    while url and pages < 20:
        body = http.get(url, params=params).json()
        seen += [t["id"] for t in body["data"]]
        url, params, pages = body.get("next_url"), None, pages + 1
        if url:
            assert "offset=" in url and "after_id" not in url
    assert seen == sorted(set(seen)) and len(seen) == body["total_count"]
    # explicit offsets give the same
    second = http.get(k.url("cases"), params={"offset": 5, "limit": 5}).json()
    assert second["offset"] == 5 and second.get("previous_url")


def test_after_id_paging_via_next_url_and_link_header(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = session_for(k)
    seen, url, params, pages = [], k.url("cases"), {"limit": 5, "include": "user"}, 0
    while url and pages < 20:
        response = http.get(url, params=params)
        body = response.json()
        seen += [c["id"] for c in body["data"]]
        url, params, pages = body.get("next_url"), None, pages + 1
        if url:
            query = parse_qs(urlparse(url).query)
            assert query["after_id"] == [str(body["data"][-1]["id"])] and query["include"] == ["user"]
            assert f'<{url}>; rel="next"' in response.headers["Link"]
    assert seen == sorted(seen) and len(seen) == SEED_CASES == len(set(seen))
    # after_id is a position in the id-ordered collection; offset is reported
    third = http.get(k.url("cases"), params={"after_id": seen[4], "limit": 3}).json()
    assert [c["id"] for c in third["data"]] == seen[5:8] and third["offset"] == 5
    # posts are cursor-paged too
    posts = http.get(k.url(f"cases/{seen[0]}/posts"), params={"limit": 1}).json()
    assert posts["resource"] == "post"
    post = posts["data"][0]
    one = http.get(post["resource_url"]).json()
    assert one["resource"] == "post" and one["data"]["id"] == post["id"]
    assert http.get(k.url(f"cases/{seen[1]}/posts/{post['id']}")).status_code == 404  # another case's post
    if posts["total_count"] > 1:
        assert "after_id=" in posts["next_url"]


def test_bad_paging_argument_is_a_clear_error(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = session_for(k)
    response = http.get(k.url("cases"), params={"offset": "ten"})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "PARAMETER_INVALID"


def test_a_zammad_style_walk(kayakoemu_seeded: KayakoHandle) -> None:
    """The request pattern of the Zammad importer (limit=100, its include lists with the upstream typo
    `identify_phone`, the Link header's after_id) works; before_id walks back; limit is clamped."""
    k = kayakoemu_seeded
    http = session_for(k)
    users = http.get(k.url("users"), params={"limit": 100, "include": "user_field,field_option,locale_field,"
                                             "identity_email,identify_phone,identity_twitter,"
                                             "identity_facebook,role"})
    assert users.status_code == 200
    assert all("type" in u["role"] and all("email" in e for e in u["emails"]) for u in users.json()["data"])
    cases = http.get(k.url("cases"), params={"limit": 5, "include": "user,case_priority,case_status,channel,tag,"
                                             "case_type", "fields": "+tags"})
    link = cases.headers["Link"]
    assert 'rel="next"' in link and "after_id=" in link
    ids = [c["id"] for c in cases.json()["data"]]
    back = http.get(k.url("cases"), params={"before_id": ids[3], "limit": 2}).json()
    assert [c["id"] for c in back["data"]] == ids[1:3] and back["offset"] == 1
    k.admin.knobs(max_limit=4)
    assert len(http.get(k.url("cases"), params={"limit": 100}).json()["data"]) == 4
