"""Kayako API records map into canonical model v2: roles split agents from contacts, notes stay internal,
directions follow authors, states and custom statuses are flagged, articles carry locale and state, the
config names its host by kind and its credentials by reference, and the connector registers itself."""

from __future__ import annotations

import pytest
from hdm import registry
from hdm.model import ArticleState, Direction, MessageKind, StatusState, TeamKind, Visibility
from hdm.pipeline.config import SOURCE_HOST, fields_of_kind
from hdm.sources.kayako import records as R
from hdm.sources.kayako.config import KayakoSourceConfig
from hdm.sources.kayako.source import ranges


@pytest.fixture
def cat() -> R.Catalogs:
    c = R.Catalogs()
    c.roles = {1: "OWNER", 3: "AGENT", 4: "COLLABORATOR", 5: "CUSTOMER"}
    c.statuses = {1: {"id": 1, "label": "New", "type": "NEW"}, 5: {"id": 5, "label": "Closed", "type": "CLOSED"},
                  6: {"id": 6, "label": "Waiting on vendor", "type": "CUSTOM"}}
    c.priorities = {1: {"id": 1, "label": "Low", "level": 1}, 4: {"id": 4, "label": "Urgent", "level": 4}}
    c.channels = {1: "MAIL", 2: "NOTE", 3: "MESSENGER", 4: "TWITTER"}
    return c


def _user(uid: int, role: int, **kw) -> dict:
    return {"id": uid, "full_name": kw.pop("name", f"User {uid}"), "role": {"id": role, "resource_type": "role"},
            **kw}


def _post(pid: int, channel: int, creator: dict, **kw) -> dict:
    return {"id": pid, "source_channel": {"id": channel, "resource_type": "channel"}, "creator": creator,
            "original": {"body_text": "hi", "body_html": "<p>hi</p>", "resource_type": "case_message"},
            "created_at": "2021-01-01T00:00:00+00:00", **kw}


def test_a_note_post_is_an_internal_agent_message_never_public(cat):
    msg = R.message(_post(1, 2, _user(3, 3)), 7, 0, cat, {})
    assert (msg.kind, msg.visibility, msg.direction) == (MessageKind.AGENT, Visibility.INTERNAL, None)
    assert msg.ticket == "ticket:7" and msg.author == "agent:3"


def test_directions_follow_the_author(cat):
    inbound = R.message(_post(1, 1, _user(9, 5)), 7, 0, cat, {})
    outbound = R.message(_post(2, 3, _user(4, 4)), 7, 1, cat, {})  # a collaborator answers as an agent
    assert (inbound.kind, inbound.direction, inbound.author, inbound.channel) == (
        MessageKind.CUSTOMER, Direction.INBOUND, "contact:9", "email")
    assert (outbound.kind, outbound.direction, outbound.channel) == (MessageKind.AGENT, Direction.OUTBOUND, "chat")
    assert outbound.created_at == "2021-01-01T00:00:00Z"


def test_an_author_that_no_longer_exists_is_flagged_and_the_message_kept(cat):
    gone = {"id": 10, "resource_type": "user"}
    msg = R.message(_post(1, 1, gone, is_requester=True), 7, 0, cat, {})
    assert msg.author is None and [f.code for f in msg.flags] == ["unknown_author"]
    assert msg.body_text == "hi" and msg.extra["author_user_id"] == 10
    moved = R.message(_post(2, 1, gone, identity={"id": 44, "resource_type": "identity_email"}), 7, 1, cat,
                      {44: 9})
    assert moved.author == "contact:9" and [f.code for f in moved.flags] == ["merged_user"]


def test_posts_are_ordered_by_time_then_id():
    posts = [{"id": 5, "created_at": "2021-01-02"}, {"id": 9, "created_at": "2021-01-01"},
             {"id": 4, "created_at": "2021-01-02"}]
    assert [p["id"] for p in R.post_order(posts)] == [9, 4, 5]


def test_a_case_maps_its_references_state_and_channel(cat):
    case = {"id": 3, "subject": "S", "status": {"id": 6}, "priority": {"id": 4}, "type": {"id": 2},
            "brand": {"id": 1}, "assigned_team": {"id": 5}, "assigned_agent": {"id": 3},
            "requester": _user(9, 5, organization={"id": 2, "resource_type": "organization"}),
            "source_channel": {"id": 4}, "state": "TRASH", "tags": [{"id": 1, "name": "café"}],
            "custom_fields": [], "post_count": 4, "sla_version": {"id": 3, "sla": {"id": 2, "resource_type": "sla"}}}
    t = R.ticket(case, cat)
    assert t.sla_policy == "sla_policy:2"
    assert (t.status, t.status_state, t.priority, t.priority_urgency) == ("Waiting on vendor", StatusState.OPEN,
                                                                            "Urgent", 1)
    assert (t.ticket_type, t.brand, t.queue, t.assignee, t.requester, t.organization) == (
        "ticket_type:2", "brand:1", "team:5", "agent:3", "contact:9", "organization:2")
    assert t.channel == "other" and t.extra["source_channel"] == "TWITTER" and t.tags == ["café"]
    assert {f.code for f in t.flags} == {"custom_status", "trashed_case"}
    closed = R.ticket({**case, "status": {"id": 5}, "state": "ACTIVE", "updated_at": "2021-02-01T00:00:00+00:00",
                       "requester": {"id": 10, "resource_type": "user"}}, cat)
    assert closed.status_state is StatusState.CLOSED and closed.closed_at == "2021-02-01T00:00:00Z"
    assert [f.code for f in closed.flags] == ["unknown_requester"]


def test_users_split_by_role_and_teams_are_queues(cat):
    customer = _user(9, 5, emails=[{"id": 2, "email": "b@x.example", "is_primary": False},
                                   {"id": 1, "email": "a@x.example", "is_primary": True}],
                     organization={"id": 2}, custom_fields=[])
    c = R.contact(customer, cat)
    assert (c.email, c.other_emails, c.organization, c.organizations) == (
        "a@x.example", ["b@x.example"], "organization:2", ["organization:2"])
    a = R.agent(_user(1, 1, name="Ada King Lovelace", teams=[{"id": 5}, {"id": 6}]), cat)
    assert (a.first_name, a.last_name, a.admin, a.queue, a.queues) == (
        "Ada King", "Lovelace", True, "team:5", ["team:5", "team:6"])
    assert R.team({"id": 5, "title": "Tier 2"}, ["agent:1"]).kind is TeamKind.QUEUE


def test_articles_give_one_record_per_locale_with_state():
    raw = {"id": 2, "status": "PENDINGAPPROVAL", "section": {"id": 4}, "author": {"id": 3},
           "titles": [{"locale": "de", "translation": "Titel"}, {"locale": "en-us", "translation": "Title"}],
           "contents": [{"locale": "en-us", "translation": "<p>b</p>"}, {"locale": "de", "translation": "<p>d</p>"}],
           "slugs": [{"locale": "en-us", "translation": "title"}], "keywords": "a, b", "attachments": [{"id": 13}]}
    primary, german = R.kb_articles(raw)
    assert (primary.key, primary.locale, primary.title, primary.state, primary.category, primary.url_name) == (
        "kb_article:2", "en-us", "Title", ArticleState.DRAFT, "kb_category:section-4", "title")
    assert primary.keywords == ["a", "b"] and primary.attachments == ["attachment:article-13"]
    assert (german.key, german.locale, german.title, german.body_html) == ("kb_article:2-de", "de", "Titel", "<p>d</p>")
    assert german.extra["translation_of"] == "kb_article:2"
    assert "pending_approval" in {f.code for f in primary.flags}
    section = R.kb_category({"id": 4, "category": {"id": 2}, "titles": [{"locale": "en-us", "translation": "S"}],
                             "visibility": "PUBLIC"}, "section")
    assert (section.key, section.parent, section.public) == ("kb_category:section-4", "kb_category:category-2", True)


def test_sla_targets_become_hours(cat):
    sla = R.sla_policy({"id": 1, "title": "Gold", "targets": [
        {"priority": {"id": 4}, "sla_target_type": "FIRST_REPLY_TIME", "goal_in_seconds": 3600,
         "operational_hours": "BUSINESS_HOURS"},
        {"priority": {"id": 1}, "sla_target_type": "FIRST_REPLY_TIME", "goal_in_seconds": 28800},
        {"priority": {"id": 4}, "sla_target_type": "RESOLUTION_TIME", "goal_in_seconds": 86400}]}, cat)
    assert (sla.first_response_hours, sla.grace_period_hours, sla.schedule) == (1.0, 24.0, "business hours")
    assert [t["priority"] for t in sla.extra["targets"]] == ["Urgent", "Low", "Urgent"]


def test_ranges_are_contiguous_and_cover_every_id():
    assert ranges([3, 4, 7, 9, 12], 2) == [(1, 4, 2), (5, 9, 2), (10, 12, 1)]
    assert ranges([], 5) == []


def test_config_names_its_host_by_kind_and_its_credentials_by_reference():
    cfg = KayakoSourceConfig(host="acme.kayako.com", email="env:KAYAKO_EMAIL", password="env:KAYAKO_PASSWORD")
    assert cfg.api_url == "https://acme.kayako.com/api/v1"
    assert list(fields_of_kind(cfg, SOURCE_HOST)) == [("host", "acme.kayako.com")]
    assert KayakoSourceConfig(host="127.0.0.1", port=8443, email="env:E", password="env:P").api_url == \
        "https://127.0.0.1:8443/api/v1"
    with pytest.raises(ValueError, match="secret reference"):
        KayakoSourceConfig(host="acme.kayako.com", email="env:E", password="hunter2")
    assert registry.source("kayako").config is KayakoSourceConfig
    assert {registry.SCOPING_REPORT, registry.INVENTORY} <= set(registry.source("kayako").capabilities)


def test_updated_since_must_be_an_instant_with_its_offset():
    base = {"host": "acme.kayako.com", "email": "env:E", "password": "env:P"}
    assert KayakoSourceConfig(**base, updated_since="2024-05-01T02:00:00+02:00").updated_since == \
        "2024-05-01T00:00:00Z"
    for bad in ("yesterday", "2024-05-01T00:00:00"):
        with pytest.raises(ValueError, match="updated_since"):
            KayakoSourceConfig(**base, updated_since=bad)


def test_inline_images_become_inline_attachments_of_their_message(cat):
    url = "https://acme.kayako.com/media/url/abc123"
    post = _post(5, 1, _user(9, 5))
    post["original"]["body_html"] = f'<p>see <img src="{url}"> and <img src=\'{url}\'></p>'
    msg = R.message(post, 7, 0, cat, {})
    assert msg.inline_images == {url: "attachment:media-post-5-abc123"}
    assert msg.attachments == ["attachment:media-post-5-abc123"]
    assert R.media_images("<p>no images</p>", "post-1") == []


def test_a_case_has_its_created_event(cat):
    case = {"id": 4, "creator": _user(9, 5, name="Hiro"), "created_at": "2021-03-31T09:00:00+00:00",
            "source_channel": {"id": 1}, "state": "ACTIVE"}
    ev = R.created_event(case, cat)
    assert (ev.key, ev.ticket, ev.name, ev.actor, ev.actor_name, ev.at) == (
        "event:4-created", "ticket:4", "created", "contact:9", "Hiro", "2021-03-31T09:00:00Z")
    gone = R.created_event({**case, "creator": {"id": 10, "resource_type": "user"}}, cat)
    assert gone.actor is None and [f.code for f in gone.flags] == ["unknown_author"]


def test_an_owner_deleted_during_extraction_has_no_posts_and_is_counted():
    from hdm.sources.kayako.errors import KayakoNotFound
    from hdm.sources.kayako.source import ChunkStats, KayakoSource

    class Gone:
        def items(self, path, params=None, **kw):
            raise KayakoNotFound("Kayako: not found on GET /cases/{id}/posts (HTTP 404)")
            yield  # pragma: no cover

    src = KayakoSource.__new__(KayakoSource)
    src.client, src.last_stats = Gone(), ChunkStats("message-x", "message")
    assert list(src._owned("/cases/{id}/posts", {}, 4)) == []
    assert src.last_stats.skipped == {"owner_deleted_during_extraction": 1}


def test_a_403_at_login_says_two_factor_authentication_is_not_supported():
    from hdm.http import AuthFailed
    from hdm.sources.kayako.client import auth_error

    assert "two-factor" in str(auth_error(AuthFailed("session login refused", status=403)))
    assert "two-factor" not in str(auth_error(AuthFailed("session login refused", status=401)))


def test_kit_errors_become_source_failures_and_transient_ones_pass():
    from hdm import connector_errors, exitcodes
    from hdm.errors import classify
    from hdm.http import NotFound, PagingError, Rejected
    from hdm.sources.kayako.client import translated
    from hdm.sources.kayako.errors import KayakoNotFound

    for exc in (Rejected("request rejected", status=400), PagingError("more than 5 pages"),
                NotFound("not found", status=404)):
        mine = translated(exc)
        assert isinstance(mine, connector_errors.SourceFailure) and classify(mine)[0] == exitcodes.SOURCE
    assert isinstance(translated(NotFound("not found", status=404)), KayakoNotFound)
