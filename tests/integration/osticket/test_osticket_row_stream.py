"""The streaming reader against the real server: same values as pymysql, long rows, early stops, errors."""

from __future__ import annotations

import datetime as dt
import decimal

import pymysql
import pytest
from hdm.sources.base import KeyRange
from hdm.sources.osticket.connection import ConnParams, ReadOnlyConnection

TYPES_SQL = ("SELECT 1 AS i, NULL AS n, 'Zoë' AS s, REPEAT('é', 300) AS long_s, CAST('12.50' AS DECIMAL(5,2)) AS d, "
             "1.5e0 AS f, CAST('2021-07-01 12:00:00' AS DATETIME) AS at, -9007199254740993 AS big "
             "UNION ALL SELECT 2, NULL, '', REPEAT('x', 70000), NULL, NULL, NULL, 0")
MANY_SQL = "SELECT a.ID AS a, b.ID AS b FROM information_schema.COLLATIONS a CROSS JOIN information_schema.COLLATIONS b"


@pytest.fixture
def conn(seeded_db):
    db = seeded_db()
    c = ReadOnlyConnection(ConnParams.of(db.params))
    yield c
    c.close()


def test_streamed_rows_hold_what_buffered_rows_hold(conn):
    streamed, buffered = list(conn.stream(TYPES_SQL)), conn.rows(TYPES_SQL)
    assert len(streamed) == len(buffered) == 2
    for s, b in zip(streamed, buffered, strict=True):
        assert {k: v for k, v in s.items() if k != "at"} == {k: v for k, v in b.items() if k != "at"}
    assert streamed[0]["d"] == decimal.Decimal("12.50") and streamed[0]["big"] == -9007199254740993
    assert streamed[0]["at"] == b"2021-07-01 12:00:00" and buffered[0]["at"] == dt.datetime(2021, 7, 1, 12)
    assert len(streamed[1]["long_s"]) == 70000 and streamed[1]["n"] is None and streamed[1]["s"] == ""


def test_a_row_longer_than_one_packet_arrives_whole(conn):
    (row,) = list(conn.stream("SELECT REPEAT('a', 17 * 1024 * 1024) AS big, 7 AS after"))
    assert len(row["big"]) == 17 * 1024 * 1024 and row["after"] == 7
    assert conn.scalar("SELECT 1") == 1


def test_a_consumer_that_stops_early_leaves_the_connection_in_step(conn):
    total = conn.scalar(f"SELECT COUNT(*) FROM ({MANY_SQL}) x")
    rows = conn.stream(MANY_SQL)
    assert next(rows)["a"] is not None
    rows.close()
    assert conn.scalar("SELECT 42") == 42
    assert sum(1 for _ in conn.stream(MANY_SQL)) == total > 10_000
    assert conn.rows_fetched >= total + 3


def test_an_error_in_the_middle_of_a_result_is_raised_and_the_connection_goes_on(conn):
    sql = ("SELECT s.a, (SELECT x FROM (SELECT 1 AS x UNION SELECT 2) t WHERE s.a > 1) AS sub "
           "FROM (SELECT 1 AS a UNION SELECT 2) s ORDER BY s.a")
    seen = []
    with pytest.raises(pymysql.MySQLError, match="more than 1 row"):
        for row in conn.stream(sql):
            seen.append(row["a"])
    assert seen == [1]
    assert conn.scalar("SELECT 5") == 5


def test_the_source_records_its_statements_with_arguments_bound(seeded_db):
    db = seeded_db()
    uid = db.seed.user("Ann", "ann@example.test")
    tid = db.seed.ticket(uid, "Printer on fire")
    db.seed.entry(tid, "M", "<p>help</p>", "2021-03-01 10:00:00", user_id=uid)
    with db.source() as src:
        log: list[str] = []
        (chunk,) = [c for c in src.plan(100) if c.object_type == "message"]
        src.record_statements(log)
        before = src.rows_fetched
        assert len(list(src.extract(chunk))) == 1
        src.record_statements(None)
        assert log and all("%s" not in sql for sql in log)
        keys = chunk.cursor_as(KeyRange)
        assert any(f"BETWEEN {keys.lo} AND {keys.hi}" in sql for sql in log)
        assert src.rows_fetched > before
        n = len(log)
        src.conn.scalar("SELECT 1")
        assert len(log) == n  # recording stopped
