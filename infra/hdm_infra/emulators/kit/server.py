"""Serve an `EmulatorApp` over TLS on 127.0.0.1 (threaded werkzeug, keep-alive): in a thread (tests) or a subprocess."""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .app import ADMIN_PREFIX, EmulatorApp
from .http11 import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, KeepAliveServer
from .state import ADMIN_TOKEN_FILE, private_state_dir
from .tls import ensure_certificate

HOST = "127.0.0.1"
LOG_FILE = "server.log"

AppFactory = Callable[[Path], EmulatorApp]


@dataclass
class RunningServer:
    """Where a running emulator listens and how to reach it."""

    url: str
    cert_path: Path
    state_dir: Path
    app: EmulatorApp | None = None  # set when it runs in this process
    pid: int | None = None  # set when it runs as a subprocess
    server: KeepAliveServer | None = field(default=None, repr=False)  # set when it runs in this process
    _stop: Any = field(default=None, repr=False)

    @property
    def admin_token_path(self) -> Path:
        return self.state_dir / ADMIN_TOKEN_FILE

    @property
    def admin_token(self) -> str:
        """The admin API's token; readable only by the emulator's user."""
        return self.admin_token_path.read_text(encoding="utf-8").strip()

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "cert": str(self.cert_path), "state_dir": str(self.state_dir),
                "admin_url": f"{self.url}{ADMIN_PREFIX}", "admin_token_file": str(self.admin_token_path),
                "pid": self.pid}

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def build_server(factory: AppFactory, state_dir: Path, port: int = 0, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> tuple[KeepAliveServer, EmulatorApp, Path]:
    """A threaded TLS werkzeug server on 127.0.0.1:port (0: a free port) around ``factory(state_dir)``.

    Connections persist (HTTP/1.1 keep-alive) until the client closes them or they stay idle ``idle_timeout``
    seconds; at most ``max_connections`` are served at once (one thread each). See `http11`.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    state_dir = private_state_dir(state_dir)
    cert, key = ensure_certificate(state_dir / "tls")
    app = factory(state_dir)
    server = KeepAliveServer(HOST, port, app, ssl_context=(str(cert), str(key)), idle_timeout=idle_timeout,
                             max_connections=max_connections)
    app.base_url = f"https://{HOST}:{server.server_port}"
    return server, app, cert


def serve_in_thread[R: RunningServer](factory: AppFactory, state_dir: Path, port: int = 0, cls: type[R] = RunningServer,
                    thread_name: str = "emulator-http", idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                    max_connections: int = DEFAULT_MAX_CONNECTIONS) -> R:
    server, app, cert = build_server(factory, state_dir, port, idle_timeout, max_connections)
    thread = threading.Thread(target=server.serve_forever, name=thread_name, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        app.flush()
        thread.join(timeout=10)

    return cls(url=app.base_url, cert_path=cert, state_dir=Path(state_dir), app=app, server=server, _stop=stop)


def serve_foreground(server: KeepAliveServer, app: EmulatorApp, banner: dict[str, Any]) -> None:
    """Print ``banner`` as one JSON line (the ready signal subprocess starters read), serve until SIGTERM."""
    print(json.dumps(banner), flush=True)

    def stop(*_: object) -> None:
        app.flush()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        app.flush()


def _read_banner(proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if selector.select(timeout=min(left, 0.5)):
                return proc.stdout.readline()
            if proc.poll() is not None:
                return b""
    return b""


def wait_ready(url: str, cert: Path, deadline: float) -> bool:
    """Poll ``<url>/__admin/health`` (bounded by ``deadline``) until it answers ok over TLS with ``cert``."""
    with requests.Session() as http:
        http.verify, http.trust_env = str(cert), False
        while time.monotonic() < deadline:
            try:
                if http.get(f"{url}{ADMIN_PREFIX}/health", timeout=5).json().get("ok"):
                    return True
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
    return False


def start_subprocess[R: RunningServer](module: str, state_dir: Path, port: int = 0, timeout: float = 30.0,
                     cls: type[R] = RunningServer, args: Sequence[str] = ()) -> R:
    """Run ``python -m <module> serve --state-dir DIR --port N`` detached; wait for its banner and health.

    Its stderr goes to ``<state_dir>/server.log`` (0600).
    """
    state_dir = private_state_dir(state_dir)
    log = open(os.open(state_dir / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "serve", "--state-dir", str(state_dir), "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    deadline = time.monotonic() + timeout
    line = _read_banner(proc, deadline)
    banner = json.loads(line) if line.strip() else None
    if banner is None or not wait_ready(banner["url"], Path(banner["cert"]), deadline):
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"{module} did not start; see {state_dir / LOG_FILE}")

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    return cls(url=banner["url"], cert_path=Path(banner["cert"]), state_dir=state_dir, pid=proc.pid, _stop=stop)
