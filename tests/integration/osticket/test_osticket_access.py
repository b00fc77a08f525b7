"""Connecting: clear errors, read-only by construction, any table prefix."""

from __future__ import annotations

import secrets

import pytest
from hdm.sources.osticket import (
    NotOsTicketError,
    OsTicketAuthError,
    OsTicketConnectionError,
    OsTicketSource,
    WritableAccountError,
    WriteRefusedError,
)
from hdm_infra.mariadb import free_port


def test_a_wrong_password_is_one_clear_error(seeded_db):
    db = seeded_db()
    with pytest.raises(OsTicketAuthError, match="wrong user name or password"):
        OsTicketSource({**db.params, "password": "not-the-password"})


def test_an_unreachable_host_is_one_clear_error():
    with pytest.raises(OsTicketConnectionError, match="cannot reach"):
        OsTicketSource({"host": "127.0.0.1", "port": free_port(), "user": "x", "password": "y", "database": "z",
                        "connect_timeout": 2})


def test_a_database_that_is_not_osticket_is_refused(seeded_db, mariadb):
    db = seeded_db()
    empty = f"not_ost_{secrets.token_hex(3)}"
    mariadb.create_database(empty)
    try:
        mariadb.create_user(db.params["user"] + "e", "pw-" + db.params["password"], empty, read_only=True)
        with pytest.raises(NotOsTicketError, match="no osTicket tables"):
            OsTicketSource({**db.params, "database": empty, "user": db.params["user"] + "e",
                            "password": "pw-" + db.params["password"]})
    finally:
        mariadb.drop_database(empty)
    with pytest.raises(OsTicketAuthError, match="does not exist"):  # the server will not tell which
        OsTicketSource({**db.params, "database": "no_such_db"})


def test_a_missing_core_table_is_named(seeded_db):
    db = seeded_db()
    db.seed.execute("DROP TABLE {p}staff")
    with pytest.raises(NotOsTicketError, match="ost_staff"):
        OsTicketSource(db.params)


def test_a_read_only_account_is_accepted_and_a_writable_one_refused(seeded_db, mariadb):
    db = seeded_db()
    with db.source() as src:
        assert src.conn.writable_privileges == set()
    writer = f"rw_{secrets.token_hex(3)}"
    mariadb.create_user(writer, "rw-password-1", db.database, read_only=False)
    params = {**db.params, "user": writer, "password": "rw-password-1"}
    with pytest.raises(WritableAccountError, match="ALL"):
        OsTicketSource(params)
    with OsTicketSource(params, allow_writable=True) as src:  # accepted on request, still cannot write
        with pytest.raises(WriteRefusedError):
            src.conn.rows(f"DELETE FROM `{src.prefix}ticket`")
        with pytest.raises(WriteRefusedError):
            src.conn.rows(f"SELECT 1; DROP TABLE `{src.prefix}ticket`")
        assert src.conn.scalar(f"SELECT COUNT(*) FROM `{src.prefix}ticket_status`") == 5


def test_the_session_itself_refuses_writes(seeded_db, mariadb):
    """Even a statement that slipped past the guard would fail: the session's transactions are READ ONLY."""
    db = seeded_db()
    writer = f"rw_{secrets.token_hex(3)}"
    mariadb.create_user(writer, "rw-password-2", db.database, read_only=False)
    with OsTicketSource({**db.params, "user": writer, "password": "rw-password-2"}, allow_writable=True) as src:
        with src.conn._conn.cursor() as cur, pytest.raises(Exception, match="READ ONLY|read only|read-only"):
            cur.execute(f"INSERT INTO `{src.prefix}sla` (name, created, updated) VALUES ('x', NOW(), NOW())")


@pytest.mark.parametrize("version", ["1.18", "legacy-1.9"])
def test_a_prefix_other_than_ost_is_detected(seeded_db, version):
    db = seeded_db(version=version, prefix="hd7_")
    dept = db.seed.department("Help")
    user = db.seed.user("Eve", "eve@example.test")
    tid = db.seed.ticket(user, "prefixed", dept_id=dept)
    db.seed.entry(tid, "M", "<p>hi</p>", "2022-01-01 00:00:00", user_id=user)
    with db.source() as src:
        assert src.prefix == "hd7_"
        plan = src.plan(10)
        tickets = [t for c in plan if c.object_type == "ticket" for t in src.extract(c)]
        msgs = [m for c in plan if c.object_type == "message" for m in src.extract(c)]
    assert [t.subject for t in tickets] == ["prefixed"] and len(msgs) == 1
    with pytest.raises(NotOsTicketError, match="prefix 'ost_'"):
        OsTicketSource(db.params, prefix="ost_")


def test_version_comes_from_the_schema_signature_and_tables(seeded_db):
    for version, expected in (("1.18", "1.18"), ("1.14", "1.14"), ("legacy-1.9", "1.9.4-1.9.16")):
        db = seeded_db(version=version)
        with db.source() as src:
            assert src.version == expected
            assert src.discover().version == expected
