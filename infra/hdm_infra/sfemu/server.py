"""Start the emulator: in a thread (tests) or as a subprocess (demo), always TLS on 127.0.0.1 (the kit's server)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer

from hdm_infra.emulators import kit

from .app import Emulator

HOST = kit.HOST
MODULE = "hdm_infra.sfemu"


@dataclass
class RunningEmulator(kit.RunningServer):
    """Where a running emulator listens and how to reach it (plus the org's credentials file)."""

    @property
    def emulator(self) -> Emulator | None:
        """The emulator object when it runs in this process."""
        return self.app  # type: ignore[return-value]

    @property
    def credentials_path(self) -> Path:
        return self.state_dir / "credentials.json"

    @property
    def credentials(self) -> dict[str, str]:
        return json.loads(self.credentials_path.read_text())

    def describe(self) -> dict[str, Any]:
        base = super().describe()
        return {"url": self.url, "instance_url": self.url, "cert": base["cert"],
                "credentials_file": str(self.credentials_path), **base}


def build_server(state_dir: Path, port: int = 0) -> tuple[BaseWSGIServer, Emulator, Path]:
    server, emulator, cert = kit.build_server(Emulator, state_dir, port)
    return server, emulator, cert  # type: ignore[return-value]


def serve_in_thread(state_dir: Path, port: int = 0) -> RunningEmulator:
    return kit.serve_in_thread(Emulator, state_dir, port, cls=RunningEmulator, thread_name="sfemu-http")


def start_subprocess(state_dir: Path, port: int = 0, timeout: float = 30.0) -> RunningEmulator:
    """Run `python -m hdm_infra.sfemu serve` in the background; wait for its JSON banner and its health check."""
    return kit.start_subprocess(MODULE, state_dir, port, timeout, cls=RunningEmulator)
