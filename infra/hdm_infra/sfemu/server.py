"""Start the emulator: in a thread (tests) or as a subprocess (demo), always TLS on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .app import ADMIN_TOKEN_FILE, Emulator, private_state_dir
from .tls import ensure_certificate

HOST = "127.0.0.1"


@dataclass
class RunningEmulator:
    """Where a running emulator listens and how to reach it."""

    url: str
    cert_path: Path
    credentials_path: Path
    state_dir: Path
    emulator: Emulator | None = None  # set when it runs in this process
    pid: int | None = None  # set when it runs as a subprocess
    _stop: Any = field(default=None, repr=False)

    @property
    def credentials(self) -> dict[str, str]:
        return json.loads(self.credentials_path.read_text())

    @property
    def admin_token_path(self) -> Path:
        return self.state_dir / ADMIN_TOKEN_FILE

    @property
    def admin_token(self) -> str:
        """The admin API's token (header X-Sfemu-Admin-Token); readable only by the emulator's user."""
        return self.admin_token_path.read_text(encoding="utf-8").strip()

    def describe(self) -> dict[str, str]:
        return {"url": self.url, "instance_url": self.url, "cert": str(self.cert_path),
                "credentials_file": str(self.credentials_path), "state_dir": str(self.state_dir),
                "admin_url": f"{self.url}/__admin", "admin_token_file": str(self.admin_token_path),
                "pid": self.pid}

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def build_server(state_dir: Path, port: int = 0) -> tuple[BaseWSGIServer, Emulator, Path]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    state_dir = private_state_dir(state_dir)
    cert, key = ensure_certificate(state_dir / "tls")
    emulator = Emulator(state_dir)
    server = make_server(HOST, port, emulator, threaded=True, ssl_context=(str(cert), str(key)))
    emulator.base_url = f"https://{HOST}:{server.server_port}"
    return server, emulator, cert


def serve_in_thread(state_dir: Path, port: int = 0) -> RunningEmulator:
    server, emulator, cert = build_server(state_dir, port)
    thread = threading.Thread(target=server.serve_forever, name="sfemu-http", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        emulator.flush()
        thread.join(timeout=10)

    return RunningEmulator(url=emulator.base_url, cert_path=cert, credentials_path=Path(state_dir) / "credentials.json",
                           state_dir=Path(state_dir), emulator=emulator, _stop=stop)


def start_subprocess(state_dir: Path, port: int = 0, timeout: float = 30.0) -> RunningEmulator:
    """Run `python -m hdm_infra.sfemu serve` in the background and wait for its JSON banner."""
    state_dir = private_state_dir(state_dir)
    log = open(os.open(state_dir / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hdm_infra.sfemu", "serve", "--state-dir", str(state_dir), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line or proc.poll() is not None:
            break
    if not line:
        proc.kill()
        raise RuntimeError(f"sfemu did not start; see {state_dir / 'server.log'}")
    banner = json.loads(line)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    return RunningEmulator(url=banner["url"], cert_path=Path(banner["cert"]),
                           credentials_path=Path(banner["credentials_file"]), state_dir=state_dir, pid=proc.pid,
                           _stop=stop)
