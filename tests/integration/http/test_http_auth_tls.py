"""Auth hooks and TLS against a loopback server: bearer, Kayako-style session login with one re-login on
expiry, no secret in any exception or log record, certificate verification with a CA bundle."""

from __future__ import annotations

import base64
import json
import logging
import threading
from pathlib import Path

import pytest
import requests
from hdm.http import (
    AuthFailed,
    BasicAuth,
    BearerAuth,
    HttpClient,
    Rejected,
    RetryPolicy,
    SessionTokenAuth,
    basic_login,
    make_session,
)
from werkzeug.wrappers import Response

TOKEN = "tok-SECRET-4f9a2c"
PASSWORD = "pw-SECRET-77b1"
FAST = RetryPolicy(attempts=2, base=0.01, cap=0.05, total=5.0)


def _json(body, status=200, headers=None):
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _no_secret_anywhere(text: str, caplog) -> None:
    for secret in (TOKEN, PASSWORD, "SECRET"):
        assert secret not in text
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in str(record.args or "")


def test_bearer_token_is_sent_and_never_echoed_back(loopback, caplog):
    caplog.set_level(logging.DEBUG)
    loopback.handler = lambda r: _json({"errors": [{"code": "unauthorized",
                                                    "message": f"Access Token Invalid: {TOKEN}"}]}, 401)
    auth = BearerAuth(TOKEN)
    with pytest.raises(AuthFailed) as caught:
        HttpClient(loopback.url, auth=auth, retry=FAST).get_json("/me")
    assert loopback.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Access Token Invalid: ***" in str(caught.value)
    _no_secret_anywhere(str(caught.value) + repr(auth) + repr(caught.value), caplog)


class KayakoLike:
    """Basic on /session.json gives a session_id; other calls need X-Session-ID; sessions can be expired."""

    def __init__(self, expire_after_login: bool = False) -> None:
        self.sessions: set[str] = set()
        self.logins = 0
        self.expire_after_login = expire_after_login
        self.lock = threading.Lock()

    def __call__(self, request):
        if request.path == "/api/v1/session.json":
            expected = "Basic " + base64.b64encode(f"agent@example.com:{PASSWORD}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return _json({"status": 401, "errors": [{"code": "AUTHENTICATION_FAILED",
                                                         "message": f"bad password {PASSWORD}"}]}, 401)
            with self.lock:
                self.logins += 1
                sid = f"sess-SECRET-{self.logins}"
                if not self.expire_after_login:
                    self.sessions.add(sid)
            return _json({"status": 200, "session_id": sid})
        if request.headers.get("X-Session-ID") not in self.sessions:
            return _json({"status": 454, "errors": [{"code": "SESSION_LOADING_FAILED",
                                                     "message": "session could not be loaded"}]}, 454)
        return _json({"status": 200, "data": [{"id": 1}]})

    def expire_all(self) -> None:
        with self.lock:
            self.sessions.clear()


def _kayako_client(loopback, password=PASSWORD):
    login = basic_login(loopback.url + "/api/v1/session.json", "agent@example.com", password)
    auth = SessionTokenAuth(login, header="X-Session-ID", expired_statuses=(401, 454), secrets=(password,))
    return HttpClient(loopback.url + "/api/v1", auth=auth, retry=FAST), auth


def test_session_is_cached_and_renewed_once_on_expiry(loopback, caplog):
    caplog.set_level(logging.DEBUG)
    server = KayakoLike()
    loopback.handler = server
    client, auth = _kayako_client(loopback)
    assert client.get_json("/cases")["data"] == [{"id": 1}]
    assert client.get_json("/cases")["data"] == [{"id": 1}]
    assert server.logins == 1  # cached
    server.expire_all()
    assert client.get_json("/cases")["data"] == [{"id": 1}]
    assert server.logins == 2 and auth.logins == 2
    data_calls = [s for s in loopback.seen if s.path == "/api/v1/cases"]
    assert [s.headers["X-Session-Id"] for s in data_calls] == ["sess-SECRET-1", "sess-SECRET-1", "sess-SECRET-1",
                                                              "sess-SECRET-2"]
    assert client.counters.snapshot()["GET /cases"]["statuses"] == {"200": 3, "454": 1}
    _no_secret_anywhere("", caplog)


def test_a_session_expiring_again_after_login_fails_clearly(loopback, caplog):
    caplog.set_level(logging.DEBUG)
    loopback.handler = KayakoLike(expire_after_login=True)
    client, auth = _kayako_client(loopback)
    with pytest.raises(AuthFailed) as caught:
        client.get_json("/cases")
    assert "session expired again right after a new login" in str(caught.value)
    assert auth.logins == 2 and len([s for s in loopback.seen if s.path == "/api/v1/cases"]) == 2
    _no_secret_anywhere(str(caught.value), caplog)


def test_a_refused_login_names_no_password(loopback, caplog):
    caplog.set_level(logging.DEBUG)
    loopback.handler = KayakoLike()
    client, auth = _kayako_client(loopback, password=PASSWORD + "-wrong")
    with pytest.raises(AuthFailed) as caught:
        client.get_json("/cases")
    assert "login refused" in str(caught.value) and auth.logins == 0
    _no_secret_anywhere(str(caught.value) + repr(auth), caplog)


def test_workers_sharing_a_session_log_in_again_only_once(loopback):
    server = KayakoLike()
    loopback.handler = server
    client, auth = _kayako_client(loopback)
    client.get_json("/cases")
    server.expire_all()
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(3):
                client.get_json("/cases")
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == [] and server.logins == 2


def test_basic_auth_hook(loopback):
    HttpClient(loopback.url, auth=BasicAuth("agent", PASSWORD)).get_json("/x")
    assert loopback.seen[0].headers["Authorization"].startswith("Basic ")
    assert PASSWORD not in repr(BasicAuth("agent", PASSWORD))


def test_tls_is_verified_and_a_ca_bundle_makes_it_trusted(tls_loopback):
    app, cert = tls_loopback
    with pytest.raises(Rejected) as caught:
        HttpClient(app.url, retry=FAST).get_json("/me")
    assert "TLS" in str(caught.value)
    assert app.seen == []  # the request never got past the handshake
    client = HttpClient(app.url, session=make_session(ca_bundle=cert), retry=FAST)
    assert client.get_json("/me") == {}


def test_an_environment_bundle_does_not_replace_the_configured_one(tls_loopback, monkeypatch, tmp_path):
    app, cert = tls_loopback
    other = tmp_path / "other.pem"
    other.write_bytes(Path(requests.certs.where()).read_bytes())  # the public roots: not our server's CA
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # would trust the server if it were used
    with pytest.raises(Rejected):
        HttpClient(app.url, session=make_session(ca_bundle=other), retry=FAST).get_json("/me")


def test_retry_warnings_and_the_final_error_carry_no_token(loopback, caplog):
    caplog.set_level(logging.DEBUG)
    loopback.handler = lambda r: _json({"errors": [{"message": f"upstream said Bearer {TOKEN}"}]}, 503)
    with pytest.raises(Exception) as caught:
        HttpClient(loopback.url, auth=BearerAuth(TOKEN), retry=FAST).get_json("/contacts")
    assert any("retry 1" in r.getMessage() for r in caplog.records)  # the retry was logged…
    _no_secret_anywhere(str(caught.value), caplog)  # …without the token
