"""A loopback HTTP(S) server per test: werkzeug in a thread on 127.0.0.1, answering with a handler the
test sets, recording every request it saw (method, path, query, headers, time)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Seen:
    method: str
    path: str
    args: dict
    headers: dict
    body: bytes
    at: float
    raw: str = ""


@dataclass
class Loopback:
    url: str = ""
    handler: Callable[[Request], Response] = lambda request: Response("{}", content_type="application/json")
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.seen.append(Seen(request.method, request.path, dict(request.args), dict(request.headers),
                                  request.get_data(), time.monotonic(),
                                  environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""))
        return self.handler(request)(environ, start_response)


def serve(app: Loopback, ssl_context: Optional[tuple[str, str]] = None):
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if ssl_context else "http"
    app.url = f"{scheme}://127.0.0.1:{server.server_port}"
    return server


@pytest.fixture
def loopback():
    app = Loopback()
    server = serve(app)
    yield app
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_loopback(tmp_path: Path):
    from hdm_infra.emulators.kit.tls import ensure_certificate

    cert, key = ensure_certificate(tmp_path / "tls")
    app = Loopback()
    server = serve(app, (str(cert), str(key)))
    yield app, cert
    server.shutdown()
    server.server_close()


def json_response(body, status: int = 200, headers: Optional[dict] = None) -> Response:
    import json

    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
