"""Start the emulator: in a thread (tests) or as a subprocess (demo), always TLS on 127.0.0.1 (the kit's server)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer

from hdm_infra.emulators import kit

from .app import CREDENTIALS_FILE, IntercomEmulator

MODULE = "hdm_infra.intercomemu"


@dataclass
class RunningIntercom(kit.RunningServer):
    """Where a running emulator listens, and the workspace's access token (``credentials.json``, mode 0600)."""

    @property
    def emulator(self) -> IntercomEmulator | None:
        """The emulator object when it runs in this process."""
        return self.app  # type: ignore[return-value]

    @property
    def credentials_path(self) -> Path:
        return self.state_dir / CREDENTIALS_FILE

    @property
    def access_token(self) -> str:
        return json.loads(self.credentials_path.read_text(encoding="utf-8"))["access_token"]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "credentials_file": str(self.credentials_path)}


def build_server(state_dir: Path, port: int = 0) -> tuple[BaseWSGIServer, IntercomEmulator, Path]:
    server, emulator, cert = kit.build_server(IntercomEmulator, state_dir, port)
    return server, emulator, cert  # type: ignore[return-value]


def serve_in_thread(state_dir: Path, port: int = 0) -> RunningIntercom:
    return kit.serve_in_thread(IntercomEmulator, state_dir, port, cls=RunningIntercom, thread_name="intercomemu-http")


def start_subprocess(state_dir: Path, port: int = 0, timeout: float = 30.0) -> RunningIntercom:
    """Run `python -m hdm_infra.intercomemu serve` in the background; wait for its JSON banner and health check."""
    return kit.start_subprocess(MODULE, state_dir, port, timeout, cls=RunningIntercom)
