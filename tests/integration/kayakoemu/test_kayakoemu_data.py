"""What the generated help desk holds, as the API serves it: custom-field encodings, every post channel,
attachments and inline images by URL, rare cases, users/organizations/teams, help center, SLAs and automations."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hdm_infra.testing.kayakoemu import KayakoHandle


@pytest.fixture
def api(kayakoemu_seeded: KayakoHandle) -> tuple[KayakoHandle, requests.Session]:
    k = kayakoemu_seeded
    sid = k.http().get(k.url("session")).json()["session_id"]
    http = k.http(basic=False)
    http.headers["X-Session-ID"] = sid
    return k, http


def every(http: requests.Session, url: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    next_url: str | None = url
    query: dict[str, Any] | None = {"limit": 100, **params}
    for _ in range(100):
        body = http.get(next_url, params=query).json()
        assert body["status"] == 200, body
        out += body["data"]
        next_url, query = body.get("next_url"), None
        if not next_url:
            return out
    raise AssertionError("paging did not end")


def options_by_id(field: dict[str, Any]) -> dict[str, str]:
    return {str(o["id"]): o["values"][0]["translation"] for o in field["options"]}


def test_custom_field_definitions_and_value_encodings(api: tuple[KayakoHandle, requests.Session]) -> None:
    k, http = api
    fields = every(http, k.url("cases/fields"), include="field_option,locale_field")
    by_key = {f["key"]: f for f in fields}
    assert {"subject", "status", "affected_platforms", "contract_tier", "region", "is_vip", "product_area",
            "order_ref", "purchase_date", "seats", "refund_amount", "receipt_file"} <= set(by_key)
    assert by_key["subject"]["is_system"] is True and by_key["region"]["is_system"] is False
    # titles are not unique, keys are
    notes = [f for f in fields if f["title"] == "Notes"]
    assert len(notes) == 2 and len({f["key"] for f in notes}) == 2
    assert options_by_id(by_key["product_area"]) and any("\\" in label for label in
                                                         options_by_id(by_key["product_area"]).values())
    # without include= options are references
    bare = http.get(k.url("cases/fields"), params={"limit": 100}).json()["data"]
    assert all(set(o) == {"id", "resource_type"} for f in bare for o in f["options"])

    deleted_id = k.plan["deleted_case_field_id"]
    assert deleted_id not in {f["id"] for f in fields}
    seen_types: set[str] = set()
    cases = every(http, k.url("cases"))
    for case in cases:
        for entry in case["custom_fields"]:
            field, value = entry["field"], entry["value"]
            assert isinstance(value, str)
            if field["id"] == deleted_id:
                assert field == {"id": deleted_id, "resource_type": "case_field"}  # a dangling reference
                assert case["id"] == k.plan["deleted_field_case_id"]
                continue
            assert field["key"] == by_key[field["key"]]["key"]  # the definition itself is embedded
            kind = field["type"]
            seen_types.add(kind)
            labels = options_by_id(by_key[field["key"]])
            if kind in ("SELECT", "RADIO", "CASCADINGSELECT"):
                assert value in labels
            elif kind == "CHECKBOX":
                assert value and all(part in labels for part in value.split(","))
            elif kind == "YESNO":
                assert value in ("yes", "no")
            elif kind == "NUMERIC":
                int(value)
            elif kind == "DECIMAL":
                float(value)
            elif kind == "DATE":
                assert value.endswith("T00:00:00+00:00")
    assert {"SELECT", "RADIO", "CASCADINGSELECT", "CHECKBOX", "YESNO", "DATE", "NUMERIC", "DECIMAL",
            "TEXT", "TEXTAREA", "REGEX"} <= seen_types
    assert any(f["field"]["id"] == deleted_id for c in cases for f in c["custom_fields"])
    users = every(http, k.url("users"))
    orgs = every(http, k.url("organizations"))
    assert any(e["field"]["key"] == "preferred_language" for u in users for e in u["custom_fields"])
    assert any(e["field"]["key"] == "plan" for o in orgs for e in o["custom_fields"])
    assert {f["key"] for f in every(http, k.url("users/fields"))} >= {"employee_id", "interests"}
    assert {f["key"] for f in every(http, k.url("organizations/fields"))} >= {"plan", "customer_since"}


def test_posts_of_every_channel_and_rare_cases(api: tuple[KayakoHandle, requests.Session]) -> None:
    k, http = api
    plan = k.plan
    cases = {c["id"]: c for c in every(http, k.url("cases"))}
    assert cases[plan["trashed_case_id"]]["state"] == "TRASH"
    assert cases[plan["suspended_case_id"]]["state"] == "SUSPENDED"
    assert not cases[plan["non_ascii_case_id"]]["subject"].isascii()
    channels, originals = set(), set()
    posts_by_case = {}
    for cid in cases:
        posts = every(http, k.url(f"cases/{cid}/posts"), include="channel,case_message,note,chat_message,"
                      "twitter_tweet,facebook_message,attachment,identity_email")
        posts_by_case[cid] = posts
        assert len(posts) == cases[cid]["post_count"]
        for post in posts:
            channels.add(post["source_channel"]["type"])
            originals.add(post["original"]["resource_type"])
            assert "body_html" in post["original"]
            if post["source_channel"]["type"] == "MAIL" and post["identity"]:
                assert "@" in post["identity"]["email"]
    assert channels == {"MAIL", "NOTE", "HELPCENTER", "MESSENGER", "TWITTER", "FACEBOOK"}
    assert originals == {"case_message", "note", "chat_message", "twitter_tweet", "facebook_message"}
    huge = max(len(p["contents"]) for p in posts_by_case[plan["huge_post_case_id"]])
    assert huge >= 50_000
    ooo = posts_by_case[plan["out_of_order_case_id"]]
    assert [p["id"] for p in ooo] == sorted(p["id"] for p in ooo)
    assert [p["created_at"] for p in ooo] != sorted(p["created_at"] for p in ooo)
    merged = str(plan["merged_away_user_id"])
    assert any(str(p["creator"]["id"]) == merged for p in posts_by_case[plan["merged_creator_case_id"]])
    assert http.get(k.url(f"users/{merged}")).status_code == 404
    survivor = http.get(k.url(f"users/{plan['merged_users'][merged]}"), params={"include": "identity_email"})
    assert len(survivor.json()["data"]["emails"]) == 2


def test_attachments_and_inline_images_download(api: tuple[KayakoHandle, requests.Session]) -> None:
    k, http = api
    downloaded, last = 0, None
    for case in every(http, k.url("cases")):
        for post in every(http, k.url(f"cases/{case['id']}/posts"), include="attachment"):
            for att in post["attachments"]:
                got = http.get(att["url_download"])
                assert got.status_code == 200 and len(got.content) == att["size"]
                assert got.headers["Content-Type"].startswith(att["type"])
                downloaded, last = downloaded + 1, (case["id"], att["url_download"])
    assert downloaded > 0 and last is not None
    case_id, url = last
    assert f"/api/v1/cases/{case_id}/" in url
    # the same URL without the session is refused; under another case's id it is not found
    assert k.http(basic=False).get(url).status_code == 401
    assert http.get(url.replace(f"/cases/{case_id}/", "/cases/999999/")).status_code == 404
    inline_posts = every(http, k.url(f"cases/{k.plan['inline_image_case_id']}/posts"),
                         include="case_message,note,chat_message,twitter_tweet,facebook_message,attachment")
    html = inline_posts[0]["original"]["body_html"]
    assert "/media/url/" in html
    src = html.split('src="', 1)[1].split('"', 1)[0]
    image = k.http(basic=False).get(src)  # inline media is fetched without the session, as Zammad does
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert any(a["content_id"] for a in inline_posts[0]["attachments"])


def test_people_help_center_and_automations(api: tuple[KayakoHandle, requests.Session]) -> None:
    k, http = api
    users = every(http, k.url("users"), include="role")
    assert {u["role"]["type"] for u in users} == {"OWNER", "ADMIN", "AGENT", "COLLABORATOR", "CUSTOMER"}
    assert any(not u["is_enabled"] for u in users)
    assert any(u["teams"] for u in users)
    assert {r["type"] for r in every(http, k.url("roles"))} >= {"AGENT", "CUSTOMER"}
    orgs = every(http, k.url("organizations"), include="identity_domain")
    assert any(o["domains"] == [] for o in orgs) and any(len(o["domains"]) == 2 for o in orgs)
    assert all(d["domain"] for o in orgs for d in o["domains"])
    assert {t["title"] for t in every(http, k.url("teams"))} >= {"Support", "Billing"}
    assert {s["type"] for s in every(http, k.url("cases/statuses"))} >= {"NEW", "OPEN", "CLOSED", "CUSTOM"}
    assert [p["level"] for p in every(http, k.url("cases/priorities"))] == [1, 2, 3, 4]
    assert {t["type"] for t in every(http, k.url("cases/types"))} >= {"QUESTION", "INCIDENT", "CUSTOM"}
    assert len(every(http, k.url("brands"))) == 2 and every(http, k.url("tags"))
    categories = every(http, k.url("categories"), include="locale_field")
    assert any(len(c["titles"]) > 1 for c in categories)
    sections = every(http, k.url("sections"), include="category")
    assert all(s["category"]["id"] in {c["id"] for c in categories} for s in sections)
    articles = every(http, k.url("articles"), include="locale_field")
    assert {a["status"] for a in articles} == {"PUBLISHED", "DRAFT", "PENDINGAPPROVAL"}
    locales = {t["locale"] for a in articles for t in a["titles"]}
    assert locales == {"en-us", "de", "ja"}
    assert all(len(a["titles"]) == len(a["contents"]) == len(a["slugs"]) for a in articles)
    slas = every(http, k.url("slas"), include="case_priority")
    assert {t["sla_target_type"] for s in slas for t in s["targets"]} == {
        "FIRST_REPLY_TIME", "NEXT_REPLY_TIME", "RESOLUTION_TIME"}
    assert all(t["priority"]["label"] for s in slas for t in s["targets"])
    triggers = every(http, k.url("triggers"))
    assert any(not t["is_enabled"] for t in triggers) and all(t["actions"] for t in triggers)
    assert every(http, k.url("monitors"))
    case_tags = http.get(k.url(f"cases/{k.plan['non_ascii_case_id']}/tags")).json()
    assert "日本語" in {t["name"] for t in case_tags["data"]}


def test_notes_article_files_and_touch_for_delta_runs(api: tuple[KayakoHandle, requests.Session]) -> None:
    k, http = api
    users = every(http, k.url("users"))
    noted = [n for u in users for n in every(http, k.url(f"users/{u['id']}/notes"), include="user")]
    assert noted and all(n["resource_type"] == "note" and n["creator"]["full_name"] for n in noted)
    org_notes = [n for o in every(http, k.url("organizations"))
                 for n in every(http, k.url(f"organizations/{o['id']}/notes"))]
    assert org_notes and {n["id"] for n in org_notes}.isdisjoint({n["id"] for n in noted})
    assert http.get(k.url("users/999999/notes")).status_code == 404
    articles = every(http, k.url("articles"), include="attachment,locale_field")
    files = [a for art in articles for a in art["attachments"]]
    assert files
    for att in files:
        got = http.get(att["url_download"])
        assert got.status_code == 200 and len(got.content) == att["size"]
    assert any("/media/url/" in c["translation"] for art in articles for c in art["contents"])

    cases = every(http, k.url("cases"))
    target = cases[-1]
    posts_before = every(http, k.url(f"cases/{target['id']}/posts"))
    at = "2026-12-01T10:00:00+00:00"
    assert k.admin.touch([target["id"], 999999], at) == {
        "touched": [target["id"]]}
    after = http.get(k.url(f"cases/{target['id']}")).json()["data"]
    assert after["updated_at"] == at and after["post_count"] == target["post_count"] + 1
    posts_after = every(http, k.url(f"cases/{target['id']}/posts"), include="note")
    assert len(posts_after) == len(posts_before) + 1
    newest = posts_after[-1]
    assert newest["created_at"] == at and newest["original"]["resource_type"] == "note"
    assert newest["id"] > max(p["id"] for p in posts_before)
    changed = [c["id"] for c in every(http, k.url("cases")) if c["updated_at"] >= at]
    assert changed == [target["id"]]
