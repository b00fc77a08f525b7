"""The private MariaDB server and osTicket's real install schema."""

from __future__ import annotations

import json
import subprocess
import sys

import pymysql
import pytest
from hdm_infra.mariadb import MariaDB
from hdm_infra.osticket.install_data import EVENT_NAMES, SIGNATURE_PREFIX


def test_server_answers_on_loopback_only(mariadb):
    assert mariadb.host == "127.0.0.1"
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT @@bind_address, @@port")
        bind, port = cur.fetchone()
    assert bind == "127.0.0.1"
    assert port == mariadb.port


def test_a_second_server_starts_attaches_and_stops(tmp_path):
    server = MariaDB.start(tmp_path / "db")
    try:
        attached = MariaDB.attach(tmp_path / "db")
        assert attached is not None and attached.port == server.port
        with attached.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        server.stop()
    assert MariaDB.attach(tmp_path / "db") is None
    with pytest.raises(pymysql.MySQLError):
        pymysql.connect(host="127.0.0.1", port=server.port, user=server.admin_user, password=server.admin_password,
                        connect_timeout=2)


def test_command_line_prints_connection_json(tmp_path):
    folder = str(tmp_path / "cli")
    run = [sys.executable, "-m", "hdm_infra.mariadb"]
    started = json.loads(subprocess.run([*run, "start", "--dir", folder], capture_output=True, text=True,
                                        check=True, timeout=120).stdout)
    try:
        assert started["status"] == "running" and started["host"] == "127.0.0.1" and started["port"] > 0
        status = json.loads(subprocess.run([*run, "status", "--dir", folder], capture_output=True, text=True,
                                           check=True, timeout=60).stdout)
        assert status["port"] == started["port"]
    finally:
        stopped = subprocess.run([*run, "stop", "--dir", folder], capture_output=True, text=True, timeout=120,
                                 check=False)
    assert json.loads(stopped.stdout)["status"] == "stopped"
    after = subprocess.run([*run, "status", "--dir", folder], capture_output=True, text=True, timeout=60, check=False)
    assert after.returncode == 1 and json.loads(after.stdout)["status"] == "stopped"


@pytest.mark.parametrize("version,tables", [("1.18", 67), ("1.14", 66)])
def test_install_schema_loads_with_a_non_default_prefix(mariadb, version, tables):
    name = f"schema_{version.replace('.', '_')}"
    mariadb.create_osticket_database(name, version=version, prefix="helpdesk_")
    with mariadb.connect(database=name) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.TABLES WHERE table_schema=%s", (name,))
        names = [row[0] for row in cur.fetchall()]
        assert len(names) == tables
        assert all(n.startswith("helpdesk_") for n in names)
        cur.execute("SELECT value FROM helpdesk_config WHERE namespace='core' AND `key`='schema_signature'")
        assert cur.fetchone()[0].startswith(SIGNATURE_PREFIX[version])
        cur.execute("SELECT name FROM helpdesk_event ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == EVENT_NAMES
        cur.execute("SELECT f.flags FROM helpdesk_form_field f JOIN helpdesk_form o ON o.id=f.form_id "
                    "WHERE o.type='T' AND f.name IN ('subject','priority') ORDER BY f.name")
        assert [r[0] for r in cur.fetchall()] == [0x430B1, 0x77731]
        cur.execute("SELECT state FROM helpdesk_ticket_status ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == ["open", "closed", "closed", "archived", "deleted"]
    mariadb.drop_database(name)


def test_utf8mb4_option_changes_table_charsets(mariadb):
    mariadb.create_osticket_database("schema_mb4", version="1.18", charset="utf8mb4")
    with mariadb.connect(database="schema_mb4") as conn, conn.cursor() as cur:
        cur.execute("SELECT DISTINCT c.character_set_name FROM information_schema.TABLES t JOIN "
                    "information_schema.COLLATION_CHARACTER_SET_APPLICABILITY c ON c.collation_name=t.table_collation "
                    "WHERE t.table_schema='schema_mb4'")
        assert {r[0] for r in cur.fetchall()} == {"utf8mb4"}
    mariadb.drop_database("schema_mb4")


def test_legacy_layout_has_ticket_thread_and_no_thread_entry(mariadb):
    mariadb.create_osticket_database("schema_legacy", version="legacy-1.9")
    with mariadb.connect(database="schema_legacy") as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        names = {r[0] for r in cur.fetchall()}
        assert {"ost_ticket_thread", "ost_ticket_attachment", "ost_ticket_email_info", "ost_ticket_event"} <= names
        assert "ost_thread_entry" not in names and "ost_attachment" not in names
        cur.execute("SELECT value FROM ost_config WHERE `key`='schema_signature'")
        assert cur.fetchone()[0].startswith("b26f29a6")
    mariadb.drop_database("schema_legacy")


def test_read_only_user_cannot_write(osticket_db):
    db = osticket_db(tickets=0)
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {db.table('ticket_priority')}")
        assert cur.fetchone()[0] == 4
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute(f"DELETE FROM {db.table('ticket_priority')}")


def test_root_has_a_private_password_and_the_folders_are_private(mariadb):
    """Other local users cannot log in as root (no empty password, over the socket or TCP) nor read the files."""
    import os
    import stat

    from hdm_infra.mariadb import ROOT_PASSWORD_FILE

    base = mariadb.base_dir
    for folder in (base, base / "data", mariadb.tls_dir):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
    for private in (base / ROOT_PASSWORD_FILE, base / "connection.json", mariadb.tls_dir / "server.key"):
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o600, private
    assert not (base / "init-root.sql").exists()  # the start-up SQL holding the password is gone
    for where in ({"unix_socket": str(mariadb.socket_path)}, {"host": "127.0.0.1", "port": mariadb.port}):
        with pytest.raises(pymysql.err.OperationalError) as denied:
            pymysql.connect(user="root", password="", connect_timeout=5, **where)
        assert denied.value.args[0] == 1045
    with pymysql.connect(unix_socket=str(mariadb.socket_path), user="root", password=mariadb.root_password) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT User, Host FROM mysql.global_priv WHERE User IN ('root', '') ORDER BY Host")
            assert cur.fetchall() == (("root", "localhost"),)
            cur.execute("SELECT COUNT(*) FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.authentication_string') = ''"
                        " AND User NOT IN ('mariadb.sys', 'PUBLIC') AND IFNULL(JSON_VALUE(Priv, '$.is_role'), 0) = 0")
            assert cur.fetchone()[0] == 0


def test_the_server_speaks_tls_with_its_own_ca(mariadb):
    import ssl

    ctx = ssl.create_default_context(cafile=str(mariadb.ca_file))
    with pymysql.connect(host="127.0.0.1", port=mariadb.port, user=mariadb.admin_user,
                         password=mariadb.admin_password, ssl=ctx) as conn, conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()[1] in ("TLSv1.2", "TLSv1.3")


def test_a_server_can_refuse_every_connection_in_clear(tmp_path):
    from hdm.sources.osticket import OsTicketSource

    server = MariaDB.start(tmp_path / "tls-only", require_secure_transport=True)
    try:
        with pytest.raises(pymysql.err.OperationalError) as denied:  # MariaDB answers it as access denied
            pymysql.connect(host="127.0.0.1", port=server.port, user=server.admin_user,
                            password=server.admin_password, ssl_disabled=True, connect_timeout=5)
        assert denied.value.args[0] == 1045
        with server.connect() as conn, conn.cursor() as cur:  # the right password, over TLS
            cur.execute("SELECT @@require_secure_transport")
            assert cur.fetchone()[0] == 1
        server.create_osticket_database("ost_tls", version="1.18")
        server.create_user("reader", "reader-pw-1", "ost_tls")
        params = {"host": "127.0.0.1", "port": server.port, "user": "reader", "password": "reader-pw-1",
                  "database": "ost_tls", "tls": {"ca_bundle": str(server.ca_file)}}
        with OsTicketSource(params) as src:
            assert src.conn.tls_version and src.conn.tls_verified
    finally:
        server.stop()
