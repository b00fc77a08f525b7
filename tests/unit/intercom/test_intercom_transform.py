"""The Intercom transform, mapping pair and config: internal notes are never replies (a property over generated
threads), the pair validates against Intercom's field vocabulary, the config's fields carry their kinds."""

from __future__ import annotations

import random

import pytest
from hdm.destinations.intercom import phases as P
from hdm.destinations.intercom.config import IntercomDestinationConfig
from hdm.destinations.intercom.destination import IntercomDestination
from hdm.destinations.intercom.parts import find_sent
from hdm.destinations.intercom.transform import unix
from hdm.mapping import MappingError, load_mapping
from hdm.model import Message, MessageKind, Provenance, Visibility
from hdm.pipeline.config import DESTINATION_URL, LOCAL_PATH, SECRET, fields_of_kind

BODIES = ["<p>hello</p>", "", "-", "plain words", "<b>bold</b> and <i>it</i>", "<script>x</script>ok",
          "<p>internal: do not tell</p>", "&lt;escaped&gt;"]


def _dest() -> IntercomDestination:
    return IntercomDestination(lambda: None)


def test_internal_notes_are_never_replies_over_generated_threads():
    rng = random.Random(12)
    dest = _dest()
    seen = set()
    for i in range(600):
        kind = rng.choice(list(MessageKind))
        vis = rng.choice(list(Visibility))
        msg = Message(Provenance("osticket", "thread_entry", str(i)), ticket=f"ticket:{i % 7}", position=i,
                      kind=kind, visibility=vis, author=rng.choice([None, "agent:1", "contact:1"]),
                      body_html=rng.choice(BODIES), body_format=rng.choice(["html", "text"]),
                      created_at=rng.choice([None, "2023-01-01T00:00:00Z"]))
        row = dest.transform("message", [msg])[P.PARTS][0]
        seen.add((kind, vis, row["message_type"]))
        if vis is not Visibility.PUBLIC or kind not in (MessageKind.CUSTOMER, MessageKind.AGENT):
            assert row["message_type"] == "note" and row["_author_kind"] == "admin", (kind, vis, row)
        if row["message_type"] == "comment":
            assert vis is Visibility.PUBLIC
        assert row["body"].strip(), "a part always has a body"
        if row["_author_kind"] == "contact":
            assert kind is MessageKind.CUSTOMER and row["message_type"] == "comment"
    assert len(seen) == len(MessageKind) * len(Visibility)  # every combination was generated


def test_times_are_unix_seconds():
    assert unix("2023-01-02T10:00:00Z") == 1672653600
    assert unix("2023-01-02T10:00:00") == 1672653600  # naive: UTC
    assert unix("not a date") is None and unix(None) is None


def test_the_pair_validates_and_a_bad_override_is_refused():
    mapping = load_mapping("osticket", "intercom")
    assert mapping.fields.attributes["ticket"]["SLA plan"].data_type == "string"
    assert mapping.fields.attributes["company"]["phone"].data_type == "string"
    with pytest.raises(MappingError, match="data_type"):
        load_mapping("osticket", "intercom", override={"schema": {"ticket": {"X": {"data_type": "blob"}}}})
    with pytest.raises(MappingError):
        load_mapping("osticket", "intercom", override={"custom_objects": {"Thing": {}}})


def test_a_sent_part_is_found_by_what_it_says_not_by_position():
    parts = [{"id": "1", "part_type": "comment", "author": {"type": "user", "id": "c"}, "created_at": 5,
              "body": "<p>Hi</p>"},
             {"id": "2", "part_type": "note", "author": {"type": "admin", "id": "a"}, "created_at": 6,
              "body": "<p>secret</p>"}]
    note = {"message_type": "note", "type": "admin", "admin_id": "a", "created_at": 6, "body": "secret"}
    assert find_sent(parts, note, set()) == "2"
    assert find_sent(parts, note, {"2"}) is None  # claimed by another record
    assert find_sent(parts, {**note, "message_type": "comment"}, set()) is None  # a note is not a comment
    assert find_sent(parts, {**note, "created_at": 7}, set()) is None


def test_config_fields_carry_their_kinds():
    cfg = IntercomDestinationConfig(access_token="env:INTERCOM_TOKEN", base_url="https://api.eu.intercom.io",
                                    ca_bundle="/tmp/ca.pem")
    assert dict(fields_of_kind(cfg, SECRET)) == {"access_token": "env:INTERCOM_TOKEN"}
    assert dict(fields_of_kind(cfg, DESTINATION_URL)) == {"base_url": "https://api.eu.intercom.io"}
    assert dict(fields_of_kind(cfg, LOCAL_PATH)) == {"ca_bundle": "/tmp/ca.pem"}
    with pytest.raises(ValueError):
        IntercomDestinationConfig(access_token="a-literal-token")
    with pytest.raises(ValueError):
        IntercomDestinationConfig(access_token="env:T", quota_share=1.5)
