"""Persistent HTTP/1.1 connections for the kit's werkzeug server, bounded in connections and idle time.

werkzeug's development handler answers every request with ``Connection: close``, so each API call pays a TCP
connect and a full TLS handshake. `KeepAliveHandler` answers on the same connection until the client asks to close,
stays idle longer than ``idle_timeout`` or a response cannot be delimited. Every response it sends is delimited:
the app's ``Content-Length``, else chunked transfer coding (HTTP/1.1 clients), else ``Connection: close``; the
unread rest of a request body is drained so the next request line is where the parser starts.

`KeepAliveServer` is werkzeug's threaded server with a cap on concurrent connections (one thread each), the TLS
handshake moved off the accept loop into the connection's own thread (bounded by ``idle_timeout`` too), and
``server_close()`` closing the connections still open so a stopped emulator answers nothing more.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, load_ssl_context
from werkzeug.wsgi import LimitedStream

log = logging.getLogger(__name__)

RESET_KEY = "hdm.emulator.reset"  # set in the environ by the app when it dropped the connection on purpose
DEFAULT_IDLE_TIMEOUT = 15.0
DEFAULT_MAX_CONNECTIONS = 64
_DROPPED = (ConnectionError, TimeoutError, ssl.SSLError)
_NO_BODY = frozenset({204, 304})
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding"})


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler speaking persistent HTTP/1.1 (see the module docstring)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms Nagle/delayed-ACK stall between a response's writes
    wbufsize = 64 * 1024  # head and a small body leave in one TLS record; flushed after every response
    server: KeepAliveServer

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # socket timeout: idle wait, handshake and every read/write
        super().setup()

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ValueError):  # a stalled or non-TLS client: drop it
                return
        super().handle()

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        environ = self.environ = self.make_environ()
        body = environ["wsgi.input"]
        if not environ.get("wsgi.input_terminated"):  # not chunked: the body is exactly Content-Length bytes
            try:
                length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
            except ValueError:
                length, self.close_connection = 0, True
            body = environ["wsgi.input"] = LimitedStream(self.rfile, length)
        self._headers_sent = False
        try:
            self._respond(self.server.app, environ)
        except _DROPPED:
            self.close_connection = True
            return
        except Exception:  # noqa: BLE001 - the app failed: a 500 if nothing was sent yet, else cut the stream
            log.exception("emulator error on %s %s", self.command, self.path)
            if self._headers_sent:
                self.close_connection = True
                return
            try:
                self._respond(InternalServerError(), environ)
            except _DROPPED:
                self.close_connection = True
                return
        if environ.get(RESET_KEY):
            self.close_connection = True
            return
        if not self.close_connection:
            self._drain(body)

    def _drain(self, body: Any) -> None:
        """Read what the app left of the request body, so the next request starts at its request line."""
        try:
            while body.read(65536):
                pass
        except (*_DROPPED, OSError, ValueError):
            self.close_connection = True

    def _respond(self, app: Any, environ: dict[str, Any]) -> None:
        """Run ``app`` and send its response, delimited (nothing when the app dropped the connection)."""
        self._headers_sent = False
        state: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info and self._headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        def write(data: bytes) -> None:
            if not self._headers_sent:
                self._send_head(state["status"], state["headers"], environ, state)
            if data and not state["no_body"]:
                if state["chunked"]:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()  # a stream goes out as it is made
                else:
                    self.wfile.write(data)

        result = app(environ, start_response)
        try:
            if environ.get(RESET_KEY):
                return
            for data in result:
                write(data)
            if not self._headers_sent:
                write(b"")
            if state["chunked"]:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            if hasattr(result, "close"):
                result.close()

    def _send_head(self, status: str, headers: list[tuple[str, str]], environ: dict[str, Any],
                   state: dict[str, Any]) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        names = {name.lower() for name, _ in headers}
        state["no_body"] = environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in _NO_BODY
        state["chunked"] = False
        if not state["no_body"] and "content-length" not in names:
            if self.request_version >= "HTTP/1.1":
                state["chunked"] = True
            else:
                self.close_connection = True  # an HTTP/1.0 client learns the end from the close
        self.send_response(code, reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if state["chunked"]:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version < "HTTP/1.1":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        self._headers_sent = True


class KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server: at most ``max_connections`` connections (one thread each) at a time.

    A connection past the cap waits in the accept loop (the listen backlog holds the rest) for up to
    ``idle_timeout`` seconds, the longest an idle connection keeps its slot, and is closed if none frees up.
    """

    def __init__(self, host: str, port: int, app: Any, ssl_context: tuple[str, str] | None = None,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        if idle_timeout <= 0 or max_connections < 1:
            raise ValueError("idle_timeout must be > 0 and max_connections >= 1")
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.connections_accepted = 0
        super().__init__(host, port, app, KeepAliveHandler)
        if ssl_context is not None:  # the handshake happens in the connection's thread, not in accept()
            context = load_ssl_context(*ssl_context)
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
            self.ssl_context = context

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(timeout=self.idle_timeout):
            log.warning("emulator: %d connections open; refusing one", self.max_connections)
            self.shutdown_request(request)
            return
        with self._open_lock:
            self._open.add(request)
            self.connections_accepted += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: Any) -> None:
        with self._open_lock:
            if request not in self._open:
                return
            self._open.discard(request)
        self._slots.release()

    @property
    def open_connections(self) -> int:
        with self._open_lock:
            return len(self._open)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for request in still_open:  # idle keep-alive connections: their threads see EOF and end
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
