"""Start the Kayako emulator: in a thread (tests) or as a subprocess (demo), always TLS on 127.0.0.1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer

from hdm_infra.emulators import kit

from .app import CREDENTIALS_FILE, KayakoEmulator

MODULE = "hdm_infra.kayakoemu"


@dataclass
class RunningKayako(kit.RunningServer):
    """Where a running Kayako emulator listens, plus the agent credentials (Basic auth) kept in its state folder."""

    @property
    def emulator(self) -> KayakoEmulator | None:
        return self.app  # type: ignore[return-value]

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def credentials_path(self) -> Path:
        return self.state_dir / CREDENTIALS_FILE

    @property
    def credentials(self) -> dict[str, str]:
        return json.loads(self.credentials_path.read_text(encoding="utf-8"))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "api_url": self.api_url, "credentials_file": str(self.credentials_path)}


def build_server(state_dir: Path, port: int = 0) -> tuple[BaseWSGIServer, KayakoEmulator, Path]:
    server, emulator, cert = kit.build_server(KayakoEmulator, state_dir, port)
    return server, emulator, cert  # type: ignore[return-value]


def serve_in_thread(state_dir: Path, port: int = 0) -> RunningKayako:
    return kit.serve_in_thread(KayakoEmulator, state_dir, port, cls=RunningKayako, thread_name="kayakoemu-http")


def start_subprocess(state_dir: Path, port: int = 0, timeout: float = 30.0) -> RunningKayako:
    """Run `python -m hdm_infra.kayakoemu serve` in the background; wait for its JSON banner and health check."""
    return kit.start_subprocess(MODULE, state_dir, port, timeout, cls=RunningKayako)
