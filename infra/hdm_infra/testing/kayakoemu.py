"""Pytest fixtures for the Kayako emulator.

- `kayakoemu_server` (module): a `RunningKayako` serving TLS on 127.0.0.1 in a background thread, state under a
  temporary directory (one server per test module keeps tests fast).
- `kayakoemu` (function): a `KayakoHandle` for that server, reset first (empty help desk, default knobs);
  `.admin` is the `AdminClient`, `.http()` a `requests` session with Basic credentials, `.url(path)` an API URL.
- `kayakoemu_seeded` (function): like `kayakoemu`, seeded with `SEED_CASES` cases (seed `SEED`).

Register with ``pytest_plugins = ["hdm_infra.testing.kayakoemu"]`` in a root conftest, or import the fixtures
into a package conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from hdm_infra.kayakoemu.client import AdminClient, api_session
from hdm_infra.kayakoemu.server import RunningKayako, serve_in_thread

__all__ = ["SEED", "SEED_CASES", "KayakoHandle"]

SEED_CASES = 12
SEED = 7


@dataclass
class KayakoHandle:
    running: RunningKayako
    admin: AdminClient
    plan: dict[str, Any] | None = None

    def url(self, path: str) -> str:
        return f"{self.running.api_url}/{path.lstrip('/')}"

    def http(self, basic: bool = True) -> requests.Session:
        return api_session(self.running, basic=basic)


@pytest.fixture(scope="module")
def kayakoemu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKayako]:
    running = serve_in_thread(tmp_path_factory.mktemp("kayakoemu"))
    yield running
    running.stop()


@pytest.fixture
def kayakoemu(kayakoemu_server: RunningKayako) -> KayakoHandle:
    handle = KayakoHandle(running=kayakoemu_server, admin=AdminClient(kayakoemu_server))
    handle.admin.reset()
    return handle


@pytest.fixture
def kayakoemu_seeded(kayakoemu: KayakoHandle) -> KayakoHandle:
    kayakoemu.plan = kayakoemu.admin.seed(cases=SEED_CASES, seed=SEED, huge_post_bytes=50_000)["plan"]
    return kayakoemu
