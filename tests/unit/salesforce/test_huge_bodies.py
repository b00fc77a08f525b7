"""Message bodies of any size: split in linear time, and above ``body_file_bytes`` kept whole as a file on the Case."""

import time

import pytest
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping
from hdm.model import Message, MessageKind, Provenance, Visibility
from hdm.stage.local import LocalStage

PARA = "<p>" + "The quick brown fox jumps over the lazy dog, ünïcødé ✓. " * 20 + "</p>\n"


def _message(body_html: str, i: int = 1, **kw) -> Message:
    kw.setdefault("kind", MessageKind.AGENT)
    kw.setdefault("visibility", Visibility.PUBLIC)
    return Message(Provenance("osticket", "thread_entry", str(i)), ticket="ticket:1", body_html=body_html,
                   author_name="Ann Agent", author_email="ann@helpdesk.test", created_at="2024-01-31T12:00:00Z", **kw)


def _tx(stage=None, **opts) -> SalesforceTransformer:
    return SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(stage=stage, **opts),
                                 ReferenceNames())


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def test_a_16_mib_body_is_transformed_in_time_proportional_to_its_size():
    tx = _tx(body_file_bytes=0)  # always split: the splitting path itself is measured
    small = _message(PARA * (1024 * 1024 // len(PARA.encode())))
    big = _message(PARA * (16 * 1024 * 1024 // len(PARA.encode())))
    rows = tx.transform("message", [big])["comments"]
    assert len(rows) > 4000 and all(len(r["CommentBody"].encode()) <= 4000 for r in rows)
    t_small = _best(lambda: tx.transform("message", [small]), 5)
    t_big = _best(lambda: tx.transform("message", [big]), 2)
    # linear: ~16x; the quadratic splitter made it several hundred times
    assert t_big / t_small < 100, f"1 MiB {t_small:.3f}s, 16 MiB {t_big:.3f}s, ratio {t_big / t_small:.1f}"


@pytest.mark.parametrize("visibility,kind,published", [
    (Visibility.PUBLIC, MessageKind.CUSTOMER, True),
    (Visibility.INTERNAL, MessageKind.AGENT, False),
])
def test_a_body_over_the_limit_becomes_a_file_on_the_case_with_one_comment_pointing_to_it(
        tmp_path, visibility, kind, published):
    stage = LocalStage(tmp_path / "stage")
    tx = _tx(stage, body_file_bytes=64 * 1024, legacy_namespace="mig-1")
    body = PARA * (200 * 1024 // len(PARA.encode()))
    out = tx.transform("message", [_message(body, 7, visibility=visibility, kind=kind)])
    (comment,) = out["comments"]
    (file_row,) = out["files"]
    assert comment["_source_key"] == "message:7#0" and comment["IsPublished"] is published
    assert comment["_created_at"].startswith("2024-01-31T12:00:00")  # audit fields: the entry's own time
    assert "message-7.html" in comment["CommentBody"] and len(comment["CommentBody"].encode()) < 1000
    flag = next(f for f in comment["_flags"] if f["code"] == "body_as_file")
    assert "message-7.html" in flag["reason"] and flag["severity"] == "warning"
    assert file_row["_source_key"] == "message:7#body" and file_row["PathOnClient"] == "message-7.html"
    assert file_row["hdm_Legacy_Id__c"] == "mig-1/message:7#body"
    assert file_row["_lookups"] == {"LinkedEntityId": "ticket:1"} and "_hold" not in file_row
    assert file_row["_internal"] is (not published)  # an internal note's body stays internal as a file
    data = stage.get_bytes(file_row["_blob"]).decode()
    assert data.count("The quick brown fox") == body.count("The quick brown fox")  # the whole body, nothing cut
    assert "Ann Agent" in data and "<script" not in data


def test_a_text_body_over_the_limit_becomes_a_txt_file_and_small_bodies_stay_comments(tmp_path):
    stage = LocalStage(tmp_path / "stage")
    tx = _tx(stage, body_file_bytes=10_000)
    text = "line of plain text\n" * 2000
    big = _message("", 8, body_format="text", body_text=text)
    small = _message("<p>short</p>", 9)
    out = tx.transform("message", [big, small])
    names = [r["PathOnClient"] for r in out["files"]]
    assert names == ["message-8.txt"]
    assert stage.get_bytes(out["files"][0]["_blob"]).decode().count("line of plain text") == 2000
    assert [r["_source_key"] for r in out["comments"]] == ["message:8#0", "message:9#0"]


def test_the_limit_is_configurable_and_0_always_splits(tmp_path):
    body = PARA * (100 * 1024 // len(PARA.encode()))
    assert "files" not in _tx(LocalStage(tmp_path / "a"), body_file_bytes=0).transform("message", [_message(body)])
    assert "files" not in _tx(LocalStage(tmp_path / "b"), body_file_bytes=512 * 1024).transform(
        "message", [_message(body)])
    assert "files" in _tx(LocalStage(tmp_path / "c"), body_file_bytes=50 * 1024).transform(
        "message", [_message(body)])
    with pytest.raises(ValueError):
        SalesforceOptions.from_any({"body_file_bytes": -1})


def test_the_config_carries_the_limit_to_the_destination():
    from hdm.destinations.salesforce.config import SalesforceDestinationConfig

    assert SalesforceDestinationConfig().body_file_bytes == 256 * 1024
    assert SalesforceDestinationConfig(body_file_bytes=1000).body_file_bytes == 1000


def test_markup_nested_thousands_deep_still_becomes_a_comment_with_every_word():
    body = "<blockquote>" * 3000 + "deep words here" + "</blockquote>" * 3000 + "<p>after</p>"
    rows = _tx().transform("message", [_message(body)])["comments"]
    text = "".join(r["CommentBody"] for r in rows)
    assert "deep words here" in text and "after" in text
