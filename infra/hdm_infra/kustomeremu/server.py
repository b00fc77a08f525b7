"""Start the Kustomer emulator: in a thread (tests) or as a subprocess (demo), always TLS on 127.0.0.1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer

from hdm_infra.emulators import kit

from .app import KEYS_FILE, KustomerEmulator

MODULE = "hdm_infra.kustomeremu"


@dataclass
class RunningKustomer(kit.RunningServer):
    """Where a running emulator listens, plus its API keys file (``api-keys.json``, mode 0600)."""

    @property
    def emulator(self) -> KustomerEmulator | None:
        return self.app  # type: ignore[return-value]

    @property
    def api_base(self) -> str:
        """What a client uses as ``https://<org>.api.kustomerapp.com/v1``."""
        return f"{self.url}/v1"

    @property
    def keys_path(self) -> Path:
        return self.state_dir / KEYS_FILE

    @property
    def api_key(self) -> str:
        """The token of the key named "full" (every read role)."""
        return self.key("full")

    def key(self, name: str) -> str:
        keys = json.loads(self.keys_path.read_text(encoding="utf-8"))["keys"]
        return next(k["token"] for k in keys if k["name"] == name)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "api_base": self.api_base, "api_keys_file": str(self.keys_path)}


def build_server(state_dir: Path, port: int = 0) -> tuple[BaseWSGIServer, KustomerEmulator, Path]:
    server, emulator, cert = kit.build_server(KustomerEmulator, state_dir, port)
    return server, emulator, cert  # type: ignore[return-value]


def serve_in_thread(state_dir: Path, port: int = 0) -> RunningKustomer:
    return kit.serve_in_thread(KustomerEmulator, state_dir, port, cls=RunningKustomer, thread_name="kustomeremu-http")


def start_subprocess(state_dir: Path, port: int = 0, timeout: float = 30.0) -> RunningKustomer:
    """Run `python -m hdm_infra.kustomeremu serve` in the background; wait for its banner and health check."""
    return kit.start_subprocess(MODULE, state_dir, port, timeout, cls=RunningKustomer)
