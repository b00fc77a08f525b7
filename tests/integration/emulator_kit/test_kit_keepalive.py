"""The kit's server keeps HTTP/1.1 connections alive (over real TLS on 127.0.0.1): a session's calls share one
connection, every response is delimited (length or chunked) so the next call can follow on the same connection,
an injected connection reset still drops the connection, idle connections are closed after the timeout, and the
number of connections served at once is capped."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
import requests
from hdm_infra.emulators import kit
from hdm_infra.emulators.kit.example import NotesEmulator
from werkzeug.wrappers import Response

IDLE = 1.0


class StreamingNotes(NotesEmulator):
    """The example plus routes whose responses have no Content-Length (a generator body) or no body at all."""

    def handle(self, request):
        if request.path == "/api/stream":
            return self.call("stream", lambda: Response((b"part%d;" % i for i in range(5)), content_type="text/plain"))
        if request.path == "/api/empty404":
            return Response(b"", status=404)
        if request.path == "/api/nocontent":
            return Response(status=204)
        if request.path == "/api/boom":
            raise RuntimeError("handler bug")
        return super().handle(request)


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    running = kit.serve_in_thread(StreamingNotes, tmp_path_factory.mktemp("keepalive"), idle_timeout=IDLE,
                                  max_connections=4)
    try:
        yield running
    finally:
        running.stop()


class Admin(kit.AdminClient):
    token_header = NotesEmulator.admin_token_header


def _accepted(running) -> int:
    return running.server.connections_accepted


def test_a_session_makes_many_calls_over_one_connection(notes):
    http = kit.trusted_session(notes)
    before = _accepted(notes)
    for i in range(30):
        assert http.get(f"{notes.url}/api/ping", timeout=30).json() == {"pong": True}
        created = http.post(f"{notes.url}/api/notes", json={"text": f"n{i}"}, timeout=30)
        assert created.status_code == 201
    assert http.get(f"{notes.url}/__admin/health", timeout=30).json()["ok"]
    assert _accepted(notes) - before == 1  # 61 calls, one TCP connection, one TLS handshake
    http.close()


def test_connection_close_from_the_client_is_honoured(notes):
    http = kit.trusted_session(notes)
    http.headers["Connection"] = "close"
    before = _accepted(notes)
    for _ in range(3):
        response = http.get(f"{notes.url}/api/ping", timeout=30)
        assert response.headers["Connection"] == "close"
    assert _accepted(notes) - before == 3


def test_every_kind_of_response_leaves_the_connection_usable(notes):
    http = kit.trusted_session(notes)
    before = _accepted(notes)
    streamed = http.get(f"{notes.url}/api/stream", timeout=30)
    assert streamed.text == "part0;part1;part2;part3;part4;"
    assert streamed.headers["Transfer-Encoding"] == "chunked"
    missing = http.get(f"{notes.url}/api/empty404", timeout=30)
    assert (missing.status_code, missing.content, missing.headers["Content-Length"]) == (404, b"", "0")
    assert http.get(f"{notes.url}/api/nocontent", timeout=30).status_code == 204
    assert http.get(f"{notes.url}/api/boom", timeout=30).status_code == 500  # a handler bug: a delimited 500
    assert http.post(f"{notes.url}/api/notes", data=b"{not json", timeout=30).status_code == 400
    # a body the app never reads (the admin API refuses before reading) is drained, not parsed as the next request
    refused = http.put(f"{notes.url}/__admin/knobs", data=b"x" * 50_000, timeout=30)
    assert refused.status_code == 401
    assert http.get(f"{notes.url}/api/nonesuch", timeout=30).status_code == 404
    assert http.head(f"{notes.url}/api/ping", timeout=30).status_code == 200
    assert http.get(f"{notes.url}/api/ping", timeout=30).json() == {"pong": True}
    assert _accepted(notes) - before == 1


def test_injected_faults_on_a_kept_alive_connection(notes):
    admin = Admin(notes)
    http = kit.trusted_session(notes)
    assert http.get(f"{notes.url}/api/ping", timeout=30).ok
    try:
        admin.knobs(faults={"rate_429": 1.0, "families": ["notes_list"]})
        limited = http.get(f"{notes.url}/api/notes", timeout=30)
        assert limited.status_code == 429 and http.get(f"{notes.url}/api/ping", timeout=30).ok  # still usable
        admin.knobs(faults={"rate_429": 0.0, "rate_reset": 1.0, "families": ["notes_list"]})
        before = _accepted(notes)
        with pytest.raises(requests.exceptions.ConnectionError):
            http.get(f"{notes.url}/api/notes", timeout=30)  # the kept-alive connection is dropped, no answer
        assert http.get(f"{notes.url}/api/ping", timeout=30).ok  # the next call needs a new connection
        assert _accepted(notes) - before == 1
    finally:
        admin.knobs(faults={"rate_reset": 0.0, "rate_429": 0.0, "families": []})


def _tls_connect(running) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(running.cert_path))
    port = int(running.url.rsplit(":", 1)[1])
    return context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1")


def test_an_idle_connection_is_closed_after_the_timeout(notes):
    with _tls_connect(notes) as conn:
        conn.sendall(b"GET /api/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while b"pong" not in first and (chunk := conn.recv(65536)):
            first += chunk
        assert first.startswith(b"HTTP/1.1 200") and first.endswith(b'{"pong": true}')
        started = time.monotonic()
        rest = b""
        while chunk := conn.recv(65536):  # blocks until the server closes the idle connection
            rest += chunk
        waited = time.monotonic() - started
    assert rest == b"" and IDLE * 0.8 <= waited < IDLE + 5


def test_a_client_that_never_handshakes_does_not_block_the_server(notes):
    port = int(notes.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:  # TCP only, no ClientHello
        started = time.monotonic()
        assert kit.trusted_session(notes).get(f"{notes.url}/api/ping", timeout=30).ok  # served meanwhile ...
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):  # ... while the silent connection is still held open
            silent.recv(1)
        silent.setblocking(True)
        assert silent.recv(1) == b""  # and the silent one is dropped after the idle timeout
        assert time.monotonic() - started < IDLE + 5


def test_connections_beyond_the_cap_wait_for_a_free_slot(notes):
    sessions = [kit.trusted_session(notes) for _ in range(4)]
    for http in sessions:  # four kept-alive connections: every slot taken
        assert http.get(f"{notes.url}/api/ping", timeout=30).ok
    started = time.monotonic()
    assert kit.trusted_session(notes).get(f"{notes.url}/api/ping", timeout=30).ok  # a fifth
    assert time.monotonic() - started >= IDLE * 0.5  # served only once an idle connection timed out
    assert notes.server.open_connections <= 4


def test_an_http10_client_and_a_chunked_request_body(notes):
    with _tls_connect(notes) as conn:  # HTTP/1.0 without keep-alive: answered, then closed
        conn.sendall(b"GET /api/ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b"Connection: close" in answer and answer.endswith(b"true}")
    http = kit.trusted_session(notes)
    before = _accepted(notes)
    body = (part for part in [b'{"text": ', b'"chunked"}'])  # requests sends a generator chunked
    assert http.post(f"{notes.url}/api/notes", data=body, timeout=30).json()["text"] == "chunked"
    unread = (part for part in [b"x" * 10_000] * 5)  # refused before it is read: drained, chunk by chunk
    assert http.put(f"{notes.url}/__admin/knobs", data=unread, timeout=30).status_code == 401
    assert http.get(f"{notes.url}/api/ping", timeout=30).json() == {"pong": True}
    assert _accepted(notes) - before == 1


def test_stop_closes_the_connections_still_open(tmp_path):
    running = kit.serve_in_thread(NotesEmulator, tmp_path / "stopped")
    http = kit.trusted_session(running)
    assert http.get(f"{running.url}/api/ping", timeout=30).ok
    assert running.server.open_connections == 1
    running.stop()
    with pytest.raises(requests.exceptions.ConnectionError):  # nothing answers on the kept-alive connection
        http.get(f"{running.url}/api/ping", timeout=30)
