"""Pytest fixtures for the Kustomer emulator.

- `kustomeremu_server` (session): a `RunningKustomer` (url, api_base, cert_path, api_key, state_dir) serving TLS on
  127.0.0.1 in a background thread, state under a temporary directory.
- `kustomeremu` (function): a `KustomerHandle` for the same server, reset to an empty org with default knobs first;
  `.admin` is an `AdminClient`, `.session(key=None)` a requests session with the bearer key and trusted certificate.
- `kustomeremu_seeded` (function): like `kustomeremu`, after seeding `SEED_CUSTOMERS` customers with seed 1.

A test module that wants one seeded org for all its tests builds its own module fixture on `kustomeremu_server`
(seed once, reset knobs per test with `admin.knobs(...)`/`admin.replace_knobs({})`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from hdm_infra.kustomeremu.client import AdminClient, api_session, trusted_session
from hdm_infra.kustomeremu.server import RunningKustomer, serve_in_thread

__all__ = ["SEED_CUSTOMERS", "KustomerHandle", "api_session", "trusted_session"]

SEED_CUSTOMERS = 40


@dataclass
class KustomerHandle:
    running: RunningKustomer
    admin: AdminClient

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def api_base(self) -> str:
        return self.running.api_base

    def session(self, key: str | None = None) -> requests.Session:
        return api_session(self.running, key)


@pytest.fixture(scope="session")
def kustomeremu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKustomer]:
    running = serve_in_thread(tmp_path_factory.mktemp("kustomeremu"))
    yield running
    running.stop()


@pytest.fixture
def kustomeremu(kustomeremu_server: RunningKustomer) -> KustomerHandle:
    handle = KustomerHandle(running=kustomeremu_server, admin=AdminClient(kustomeremu_server))
    handle.admin.reset()
    return handle


@pytest.fixture
def kustomeremu_seeded(kustomeremu: KustomerHandle) -> KustomerHandle:
    kustomeremu.admin.seed(customers=SEED_CUSTOMERS, seed=1)
    return kustomeremu
