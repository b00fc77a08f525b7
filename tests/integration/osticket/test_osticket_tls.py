"""TLS to the source database, against the project's own MariaDB with TLS on (private CA, 127.0.0.1 certificate),
and the clear-text password plugins refused before the password leaves."""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import struct
import threading
from collections.abc import Iterator

import pymysql
import pytest
from hdm.engines.factories import build_source
from hdm.sources.osticket import OsTicketAuthError, OsTicketSource, OsTicketTlsError
from hdm.sources.osticket.config import OsTicketSourceConfig
from hdm.sources.osticket.connection import ConnParams, ReadOnlyConnection
from hdm_infra.pki import ensure_ca


@pytest.fixture
def tls_db(seeded_db, mariadb):
    """A seeded osTicket database and an account that may only log in over TLS (REQUIRE SSL)."""
    db = seeded_db()
    user, password = f"tls_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    mariadb.create_user(user, password, db.database, read_only=True, require_tls=True)
    return db, {**db.params, "user": user, "password": password}


def test_a_verified_tls_connection_reads_the_source(tls_db, mariadb):
    _db, params = tls_db
    with OsTicketSource({**params, "tls": {"ca_bundle": str(mariadb.ca_file)}}) as src:
        assert src.conn.tls_version in ("TLSv1.2", "TLSv1.3")
        assert src.conn.scalar(f"SELECT COUNT(*) FROM `{src.prefix}ticket_status`") == 5
    with OsTicketSource({**params, "host": "localhost", "tls": {"ca_bundle": str(mariadb.ca_file)}}) as src:
        assert src.conn.tls_version  # the certificate names localhost too


def test_the_tls_account_is_refused_in_clear_by_the_server(tls_db, mariadb):
    """The test server really enforces TLS for that account (so the test above proves TLS, not a fallback)."""
    _db, params = tls_db
    with pytest.raises(pymysql.err.OperationalError) as caught:
        pymysql.connect(host=params["host"], port=params["port"], user=params["user"], password=params["password"],
                        ssl_disabled=True, connect_timeout=5)
    assert caught.value.args[0] == 1045


def test_the_config_path_connects_over_tls(tls_db, mariadb, monkeypatch):
    _db, params = tls_db
    monkeypatch.setenv("HDM_TEST_TLS_PW", params["password"])
    cfg = OsTicketSourceConfig(host=params["host"], port=params["port"], database=params["database"],
                               user=params["user"], password="env:HDM_TEST_TLS_PW",
                               ssl={"ca_bundle": str(mariadb.ca_file)})
    with build_source(cfg) as src:
        assert src.conn.tls_version


def test_a_wrong_ca_is_one_clear_error(tls_db, tmp_path):
    _db, params = tls_db
    other = ensure_ca(tmp_path / "other-ca", common_name="not the server's CA")
    refused = r"certificate was not accepted \((self-signed|unable to get|certificate verify)"
    with pytest.raises(OsTicketTlsError, match=refused):
        OsTicketSource({**params, "tls": {"ca_bundle": str(other.cert)}})


def test_a_missing_ca_file_is_one_clear_error(tls_db, tmp_path):
    _db, params = tls_db
    with pytest.raises(OsTicketTlsError, match="could not be read"):
        OsTicketSource({**params, "tls": {"ca_bundle": str(tmp_path / "nope.pem")}})


def test_the_certificate_must_name_the_host(tls_db, mariadb):
    """verify_identity: a certificate from the right CA for another name is refused; turning the name check off
    (chain still verified) accepts it."""
    _db, params = tls_db
    mariadb.reissue_server_certificate(hosts=("db.internal.example",))
    try:
        with pytest.raises(OsTicketTlsError, match="not accepted .*(mismatch|not valid for)"):
            OsTicketSource({**params, "tls": {"ca_bundle": str(mariadb.ca_file)}})
        with OsTicketSource({**params, "tls": {"ca_bundle": str(mariadb.ca_file), "verify_identity": False}}) as src:
            assert src.conn.tls_version
    finally:
        mariadb.reissue_server_certificate()
    with OsTicketSource({**params, "tls": {"ca_bundle": str(mariadb.ca_file)}}) as src:
        assert src.conn.tls_version


def test_a_client_certificate_is_presented(seeded_db, mariadb):
    db = seeded_db()
    user, password = f"x509_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    mariadb.create_user(user, password, db.database, read_only=True)
    client = mariadb.issue_client_certificate("hdm-client")
    with mariadb.connect() as conn, conn.cursor() as cur:
        for host in ("127.0.0.1", "localhost"):
            cur.execute(f"ALTER USER '{user}'@'{host}' REQUIRE SUBJECT '/CN=hdm-client'")
    params = {**db.params, "user": user, "password": password}
    with pytest.raises(OsTicketAuthError, match="access denied"):
        OsTicketSource({**params, "tls": {"ca_bundle": str(mariadb.ca_file)}})
    tls = {"ca_bundle": str(mariadb.ca_file), "client_cert": str(client.cert), "client_key": str(client.key)}
    with OsTicketSource({**params, "tls": tls}) as src:
        assert src.conn.tls_version


def test_a_remote_host_without_tls_is_refused_before_connecting():
    params = ConnParams(host="db.internal.example", port=3306, user="u", password="p", database="d")
    with pytest.raises(OsTicketTlsError, match="without TLS: the host is not loopback"):
        ReadOnlyConnection(params)


def test_the_named_opt_out_is_loud(caplog):
    from hdm.sources.osticket.connection import _tls_arguments

    params = ConnParams(host="10.1.2.3", user="u", password="p", database="d", insecure_plaintext=True)
    with caplog.at_level(logging.WARNING, logger="hdm.sources.osticket.connection"):
        assert _tls_arguments(params) == {}
    assert "INSECURE" in caplog.text and "in clear" in caplog.text
    assert "p" not in caplog.text.split("in clear")[-1].strip()  # nothing after the message; no password
    assert _tls_arguments(ConnParams(host="127.0.0.1")) == {}
    assert _tls_arguments(ConnParams(host="db.example", unix_socket="/run/mysqld/mysqld.sock")) == {}


# -- clear-text password plugins -----------------------------------------------------------------------------------

def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def _read_packet(conn: socket.socket) -> tuple[int, bytes] | None:
    header = b""
    while len(header) < 4:
        piece = conn.recv(4 - len(header))
        if not piece:
            return None
        header += piece
    length = int.from_bytes(header[:3], "little")
    body = b""
    while len(body) < length:
        piece = conn.recv(length - len(body))
        if not piece:
            return None
        body += piece
    return header[3], body


@contextlib.contextmanager
def fake_server_asking_for_clear_text() -> Iterator[dict]:
    """A loopback server that speaks the MySQL handshake, then asks the client to switch to mysql_clear_password
    and records every byte the client sends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    state: dict = {"port": listener.getsockname()[1], "received": bytearray()}

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            caps = 0x1 | 0x8 | 0x200 | 0x8000 | 0x80000  # long password, with db, 4.1, secure conn, plugin auth
            hello = (b"\x0a" + b"5.5.5-10.11.0-fake\x00" + struct.pack("<I", 7) + b"abcdefgh" + b"\x00"
                     + struct.pack("<H", caps & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
                     + struct.pack("<H", caps >> 16) + bytes([21]) + b"\x00" * 10 + b"ijklmnopqrst\x00"
                     + b"mysql_native_password\x00")
            conn.sendall(_packet(0, hello))
            try:
                first = _read_packet(conn)
                if first is None:
                    return
                state["received"] += first[1]
                conn.sendall(_packet(first[0] + 1, b"\xfe" + b"mysql_clear_password\x00"))
                answer = _read_packet(conn)
                if answer is not None:
                    state["received"] += answer[1]
                    conn.sendall(_packet(answer[0] + 1, b"\xff" + struct.pack("<H", 1045) + b"#28000denied"))
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        thread.join(timeout=15)
        listener.close()


def test_the_clear_text_plugin_is_refused_before_the_password_leaves():
    secret = "pw-" + secrets.token_hex(8)
    with fake_server_asking_for_clear_text() as server:  # the fake is real enough: plain pymysql gives it away
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(host="127.0.0.1", port=server["port"], user="u", password=secret, connect_timeout=5)
    assert secret.encode() in server["received"]
    with fake_server_asking_for_clear_text() as server:
        with pytest.raises(OsTicketAuthError, match="plain text"):
            ReadOnlyConnection(ConnParams(host="127.0.0.1", port=server["port"], user="u", password=secret,
                                          database="d", connect_timeout=5))
    assert server["received"], "the client never answered the handshake"
    assert secret.encode() not in server["received"]


def test_pam_dialog_is_refused(seeded_db, mariadb):
    """A real MariaDB account authenticated by PAM: the server asks for the password through the dialog
    plugin (plain text); the source refuses instead of answering."""
    db = seeded_db()
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'pam'")
        if not cur.fetchone()[0]:
            try:
                cur.execute("INSTALL SONAME 'auth_pam'")
            except pymysql.MySQLError as exc:  # pragma: no cover - a server build without the PAM plugin
                pytest.skip(f"MariaDB's auth_pam plugin is not available: {exc}")
        user = f"pam_{secrets.token_hex(3)}"
        cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED VIA pam USING 'mariadb'")
        cur.execute(f"GRANT SELECT ON `{db.database}`.* TO '{user}'@'127.0.0.1'")
    with pytest.raises(OsTicketAuthError, match="plain text"):
        OsTicketSource({**db.params, "user": user, "password": "would-be-sent-in-clear"})


def test_the_scoping_report_states_how_the_source_was_reached(tls_db, mariadb):
    from hdm.sources.osticket import build_scoping_report, render_scoping_markdown

    _db, params = tls_db
    with OsTicketSource({**params, "tls": {"ca_bundle": str(mariadb.ca_file)}}) as src:
        report = build_scoping_report(src)
    assert report["connection_tls"] in ("TLSv1.2", "TLSv1.3") and report["connection_tls_verified"] is True
    assert "server certificate verified" in render_scoping_markdown(report)


# -- the CA as PEM text behind a secret reference (what a Lambda, which can name no local file, gives) -------------

def _pem_config(params: dict, ca_pem_ref: str, **ssl_options) -> OsTicketSourceConfig:
    return OsTicketSourceConfig(host=params["host"], port=params["port"], database=params["database"],
                                user=params["user"], password="env:HDM_TEST_TLS_PW",
                                ssl={"ca_pem": ca_pem_ref, **ssl_options})


def test_ca_pem_from_the_environment_connects_and_verifies(tls_db, mariadb, monkeypatch):
    _db, params = tls_db
    monkeypatch.setenv("HDM_TEST_TLS_PW", params["password"])
    monkeypatch.setenv("HDM_TEST_CA_PEM", mariadb.ca_file.read_text())
    with build_source(_pem_config(params, "env:HDM_TEST_CA_PEM")) as src:
        assert src.conn.tls_version in ("TLSv1.2", "TLSv1.3")
        assert src.conn.scalar(f"SELECT COUNT(*) FROM `{src.prefix}ticket_status`") == 5


def test_ca_pem_from_a_secrets_manager_arn_connects_and_verifies(tls_db, mariadb, moto_aws, monkeypatch):
    from hdm.sources.osticket import build_scoping_report
    from hdm_infra.testing.aws import store_secret

    _db, params = tls_db
    monkeypatch.setenv("HDM_TEST_TLS_PW", params["password"])
    arn = store_secret(f"hdm/test/osticket-ca-{secrets.token_hex(3)}", mariadb.ca_file.read_text())
    with build_source(_pem_config(params, arn)) as src:
        report = build_scoping_report(src)
    assert report["connection_tls"] in ("TLSv1.2", "TLSv1.3") and report["connection_tls_verified"] is True


def test_a_wrong_ca_pem_is_one_clear_error(tls_db, monkeypatch, tmp_path):
    _db, params = tls_db
    monkeypatch.setenv("HDM_TEST_TLS_PW", params["password"])
    other = ensure_ca(tmp_path / "other-ca", common_name="not the server's CA")
    monkeypatch.setenv("HDM_TEST_CA_PEM", other.cert.read_text())
    refused = r"certificate was not accepted \((self-signed|unable to get|certificate verify).*ca_pem"
    with pytest.raises(OsTicketTlsError, match=refused):
        build_source(_pem_config(params, "env:HDM_TEST_CA_PEM"))


@pytest.mark.parametrize("garbage", ["not a certificate {token}",
                                     "-----BEGIN CERTIFICATE-----\n{token}\n-----END CERTIFICATE-----\n", ""])
def test_a_garbage_ca_pem_fails_clearly_without_echoing_it(tls_db, monkeypatch, garbage):
    from hdm.errors import classify

    _db, params = tls_db
    token = "tok" + secrets.token_hex(8)
    monkeypatch.setenv("HDM_TEST_TLS_PW", params["password"])
    monkeypatch.setenv("HDM_TEST_CA_PEM", garbage.replace("{token}", token))
    refused = r"cannot set up TLS to .*: source\.ssl\.ca_pem: (holds|is not)"
    with pytest.raises(OsTicketTlsError, match=refused) as caught:
        build_source(_pem_config(params, "env:HDM_TEST_CA_PEM"))
    _code, line = classify(caught.value)
    assert "source.ssl.ca_pem" in line
    for text in (str(caught.value), line, repr(caught.value)):
        assert token not in text
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__  # no chained error shown


def test_a_client_key_password_from_a_secret_unlocks_an_encrypted_key(seeded_db, mariadb, moto_aws, monkeypatch,
                                                                    tmp_path):
    from cryptography.hazmat.primitives import serialization
    from hdm_infra.testing.aws import store_secret

    db = seeded_db()
    user, password = f"x509_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    mariadb.create_user(user, password, db.database, read_only=True)
    client = mariadb.issue_client_certificate("hdm-client")
    with mariadb.connect() as conn, conn.cursor() as cur:
        for host in ("127.0.0.1", "localhost"):
            cur.execute(f"ALTER USER '{user}'@'{host}' REQUIRE SUBJECT '/CN=hdm-client'")
    key_password = "kp-" + secrets.token_hex(8)
    key = serialization.load_pem_private_key(client.key.read_bytes(), password=None)
    encrypted = tmp_path / "client-encrypted.key"
    encrypted.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(key_password.encode())))
    params = {**db.params, "user": user, "password": password}
    monkeypatch.setenv("HDM_TEST_TLS_PW", password)
    ca_arn = store_secret(f"hdm/test/ca-{secrets.token_hex(3)}", mariadb.ca_file.read_text())
    client_files = {"client_cert": str(client.cert), "client_key": str(encrypted)}
    right = store_secret(f"hdm/test/key-pw-{secrets.token_hex(3)}", key_password)
    with build_source(_pem_config(params, ca_arn, **client_files, client_key_password=right)) as src:
        assert src.conn.tls_version
    wrong_value = "wrong-" + secrets.token_hex(8)
    wrong = store_secret(f"hdm/test/key-pw-{secrets.token_hex(3)}", wrong_value)
    with pytest.raises(OsTicketTlsError, match=r"source\.ssl\.client_key_password: does not decrypt") as caught:
        build_source(_pem_config(params, ca_arn, **client_files, client_key_password=wrong))
    assert wrong_value not in str(caught.value) and key_password not in str(caught.value)
