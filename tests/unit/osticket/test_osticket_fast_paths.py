"""The extraction hot paths give exactly what the plain paths give: dates, row packets, staged lines, to_dict."""

from __future__ import annotations

import datetime as dt
import json
import random
from zoneinfo import ZoneInfo

import pytest
from hdm.model import Message, MessageKind, Provenance, Ticket, Visibility, record_from_dict
from hdm.sources.osticket.connection import _INT, _RAW, _TEXT, RowParser
from hdm.sources.osticket.values import UTC, DateConverter, to_utc_iso
from hdm.stage.base import _stdlib_line, encode_record_line
from hdm.stage.local import LocalStage

ZONES = [UTC, ZoneInfo("UTC"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"),
         ZoneInfo("Australia/Lord_Howe"), ZoneInfo("America/St_Johns")]
ODD_DATES = [b"0000-00-00 00:00:00", b"2021-02-31 10:00:00", b"2021-03-28 02:30:00", b"2021-10-31 02:30:00",
             b"2021-03-14 02:15:00", b"2021-11-07 01:30:00", b"0001-01-01 00:00:00", b"9999-12-31 23:59:59",
             b"2021-13-01 00:00:00", b"2021-01-01 24:00:00", b"2021-01-01 10:60:00", b"+021-01-01 10:00:00",
             b"2021-01-01T10:00:00", b"0999-01-01 10:00:00", b"2020-02-29 23:59:59", b"2021-01-01 10:00:00.5",
             "2021-01-01 10:00:00", dt.datetime(2021, 7, 1, 12, 0), None]


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_cached_date_conversion_matches_the_plain_conversion(zone):
    rng = random.Random(7)
    start = dt.datetime(2019, 1, 1)
    values = ODD_DATES + [(start + dt.timedelta(seconds=rng.randrange(4 * 365 * 86400))).strftime(
        "%Y-%m-%d %H:%M:%S").encode() for _ in range(3000)]
    conv = DateConverter(zone, max_entries=100)  # small: the caches are cleared and refilled along the way
    for value in values:
        for utc in (False, True):
            assert conv.convert(value, already_utc=utc) == to_utc_iso(value, zone, already_utc=utc), value


def test_a_date_with_no_utc_moment_is_flagged_not_raised():
    berlin = ZoneInfo("Europe/Berlin")
    assert to_utc_iso(b"0001-01-01 00:00:00", berlin).problem == "invalid_date"
    assert DateConverter(berlin).convert(b"0001-01-01 00:00:00").problem == "invalid_date"


def test_dates_keep_their_zone_through_the_cache():
    conv = DateConverter(ZoneInfo("Europe/Berlin"))
    assert conv.convert(b"2021-07-01 12:34:56").iso == "2021-07-01T10:34:56Z"  # CEST
    assert conv.convert(b"2021-01-01 00:15:00").iso == "2020-12-31T23:15:00Z"  # CET, across midnight
    assert conv.convert(b"2021-01-01 00:15:00", already_utc=True).iso == "2021-01-01T00:15:00Z"


# -- row packets ------------------------------------------------------------------------------------

def _lc(value: bytes | None) -> bytes:
    """A length-coded value of the text protocol."""
    if value is None:
        return b"\xfb"
    n = len(value)
    if n < 251:
        return bytes([n]) + value
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little") + value
    return b"\xfd" + n.to_bytes(3, "little") + value


def _parser() -> RowParser:
    return RowParser(["id", "name", "body", "created", "gone"],
                     [(_INT, None, None), (_TEXT, "utf-8", "utf-8"), (_TEXT, "utf-8", "cp1252"), (_RAW, None, None),
                      (_INT, None, None)])


def test_a_row_packet_parses_into_typed_values():
    body = ("é" * 200 + "x" * 70_000).encode()
    payload = b"".join([_lc(b"42"), _lc("Zoë".encode()), _lc(body), _lc(b"2021-01-01 10:00:00"), _lc(None)])
    framed = b"junk" + payload + b"more"  # the parser reads in place inside a larger buffer
    row = _parser().parse_at(framed, 4, 4 + len(payload))
    assert row == {"id": 42, "name": "Zoë", "body": body.decode(), "created": b"2021-01-01 10:00:00", "gone": None}
    assert row.bad_text == ()


def test_invalid_bytes_are_replaced_and_named():
    payload = b"".join([_lc(b"1"), _lc(b"ok\xff"), _lc(b"caf\xe9"), _lc(None), _lc(b"3")])
    row = _parser().parse_at(payload, 0, len(payload))
    assert row["name"] == "ok\ufffd" and row["body"] == "café"  # latin1 column: not UTF-8, read as cp1252
    assert list(row.bad_text) == ["name", "body"]


def test_a_short_row_reads_its_missing_columns_as_null():
    payload = _lc(b"7") + _lc(b"a")
    row = _parser().parse_at(payload + b"\x05trail", 0, len(payload))
    assert row == {"id": 7, "name": "a", "body": None, "created": None, "gone": None}


# -- staged lines and records --------------------------------------------------------------------------

def test_staged_lines_are_the_standard_librarys_json_byte_for_byte():
    row = {"a": 1, "b": "日本語 — \u2028 \x00 \"q\"", "c": [1.5, 1e300, -0.0], 3: None, "d": dt.datetime(2024, 1, 2),
           "e": MessageKind.AGENT, "f": (1, 2), "g": True, "h": {"k": [None]}, "big": 2 ** 70}
    assert encode_record_line(row) == _stdlib_line(row)
    assert json.loads(encode_record_line(row))["big"] == 2 ** 70  # beyond orjson's 64 bits: the fallback


def test_staged_records_read_back_whole_across_write_blocks(tmp_path):
    stage = LocalStage(str(tmp_path))
    rows = [{"i": i, "body": "x" * (i % 3000), "z": "é"} for i in range(2000)]  # several 256 KiB blocks
    assert stage.write_records("extract/t/c.jsonl.gz", iter(rows)) == 2000
    assert list(stage.read_records("extract/t/c.jsonl.gz")) == rows
    assert stage.write_records("extract/t/empty.jsonl.gz", iter([])) == 0
    assert list(stage.read_records("extract/t/empty.jsonl.gz")) == []


def test_to_dict_shares_nothing_with_the_record_and_keeps_internal_notes_internal():
    m = Message(Provenance("osticket", "thread_entry", "1"), kind=MessageKind.AGENT, visibility=Visibility.INTERNAL,
                attachments=["attachment:1"], recipients={"to": ["a"]})
    m.flag("x", "why")
    d = m.to_dict()
    assert d["visibility"] == "internal" and type(d["visibility"]) is str and d["_type"] == "message"
    d["attachments"].append("attachment:2")
    d["recipients"]["to"].append("b")
    d["flags"][0]["code"] = "changed"
    assert m.attachments == ["attachment:1"] and m.recipients == {"to": ["a"]} and m.flags[0].code == "x"
    assert record_from_dict(m.to_dict()) == m


def test_a_record_takes_no_attribute_that_is_not_a_field_and_to_dict_converts_nested_values():
    t = Ticket(Provenance("osticket", "ticket", "1"), custom={"region": MessageKind.CUSTOMER, "n": [("a", 1)]})
    with pytest.raises(AttributeError):
        t.scratch = "not a field"  # a struct has its fields only: nothing unstaged can ride along
    d = t.to_dict()
    assert "scratch" not in d and d["custom"]["region"] == "customer" and type(d["custom"]["region"]) is str
    assert json.loads(json.dumps(d["custom"])) == {"region": "customer", "n": [["a", 1]]}  # JSON-ready


# -- background lookups ---------------------------------------------------------------------------------

def _context(runner):
    from hdm.sources.osticket.context import Context
    from hdm.sources.osticket.versions import Layout

    return Context(conn=None, aux_factory=lambda: "main-aux", prefix="ost_", version="1.18", layout=Layout.MODERN,
                   zone=UTC, columns={}, config={}, aside_runner=runner)


def test_background_lookups_use_their_own_connection_and_hand_back_results_and_errors():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        ctx = _context(lambda work: pool.submit(work, "side-conn"))
        assert ctx.aside(lambda c, lo, hi: (c.aux, lo, hi), 1, 9).result() == ("side-conn", 1, 9)
        assert ctx.aux == "main-aux"  # the caller's connection is untouched

        def broken(c):
            raise ValueError("lookup failed")

        with pytest.raises(ValueError, match="lookup failed"):
            ctx.aside(broken).result()


def test_without_a_background_runner_lookups_run_inline_on_the_lookup_connection():
    ctx = _context(None)
    assert ctx.aside(lambda c: c.aux).result() == "main-aux"
