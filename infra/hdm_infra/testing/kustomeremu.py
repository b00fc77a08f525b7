"""Pytest fixtures for the Kustomer emulator.

- `kustomeremu_server` (session): a `RunningKustomer` (url, api_base, cert_path, api_key, state_dir) serving TLS on
  127.0.0.1 in a background thread, state under a temporary directory.
- `kustomeremu` (function): a `KustomerHandle` for the same server, reset to an empty org with default knobs first;
  `.admin` is an `AdminClient`, `.session(key=None)` a requests session with the bearer key and trusted certificate.
- `kustomeremu_seeded` (function): like `kustomeremu`, after seeding `SEED_CUSTOMERS` customers with seed 1.

A test module that wants one seeded org for all its tests builds its own module fixture on `kustomeremu_server`
with `seed_org(server, customers, seed)` (seed once; reset knobs per test with `admin.replace_knobs({})`).
Helpers: `read_all(session, api_base, path)` follows `links.next` of a GET list; `search_page(...)` posts one search.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from hdm_infra.kustomeremu.client import AdminClient, api_session, trusted_session
from hdm_infra.kustomeremu.server import RunningKustomer, serve_in_thread

__all__ = ["SEED_CUSTOMERS", "KustomerHandle", "api_session", "read_all", "search_page", "seed_org",
           "trusted_session"]

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


def seed_org(server: RunningKustomer, customers: int, seed: int, **kwargs: Any) -> tuple[KustomerHandle, dict]:
    """Reset the server's org and knobs, seed it; (handle, the seed answer with counts and burst sizes)."""
    admin = AdminClient(server)
    admin.reset()
    seeded = admin.seed(customers=customers, seed=seed, **kwargs)
    return KustomerHandle(running=server, admin=admin), seeded


def read_all(http: requests.Session, api_base: str, path: str, page_size: int = 100,
             max_pages: int = 10_000) -> list[dict[str, Any]]:
    """Every record of a GET list (``path`` under /v1, e.g. ``/customers``), following ``links.next``."""
    origin = api_base.removesuffix("/v1")
    out: list[dict[str, Any]] = []
    url: str | None = f"{api_base}{path}{'&' if '?' in path else '?'}pageSize={page_size}"
    for _ in range(max_pages):
        if url is None:
            return out
        response = http.get(url, timeout=30)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code} {response.text[:300]}")
        body = response.json()
        out.extend(body["data"])
        url = f"{origin}{body['links']['next']}" if body["links"]["next"] else None
    raise AssertionError(f"{path} had more than {max_pages} pages")


def search_page(http: requests.Session, api_base: str, body: dict[str, Any], page: int = 1,
                page_size: int = 100) -> requests.Response:
    """One ``POST /v1/customers/search?page=&pageSize=``."""
    return http.post(f"{api_base}/customers/search", params={"page": page, "pageSize": page_size}, json=body,
                     timeout=30)
