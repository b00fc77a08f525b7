"""Clients of a running Kustomer emulator: an API session (bearer key, trusted certificate) and the admin API."""

from __future__ import annotations

from typing import Any

import requests

from hdm_infra.emulators import kit
from hdm_infra.emulators.kit.client import trusted_session

from .app import ADMIN_TOKEN_HEADER
from .server import RunningKustomer

__all__ = ["AdminClient", "api_session", "trusted_session"]


def api_session(running: RunningKustomer, key: str | None = None) -> requests.Session:
    """A requests session trusting the emulator's certificate and sending ``Authorization: Bearer <key>``."""
    session = trusted_session(running)
    session.headers["Authorization"] = f"Bearer {key or running.api_key}"
    session.headers["Accept"] = "application/json"
    return session


class AdminClient(kit.AdminClient):
    """The emulator's /__admin endpoints (not counted as API calls): the kit's plus the org's."""

    token_header = ADMIN_TOKEN_HEADER

    def reset(self, knobs: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", "reset", {"knobs": knobs} if knobs is not None else {})

    def seed(self, customers: int = 50, seed: int = 1, burst: int | None = None, orphans: int | None = None,
             clear: bool = True) -> dict[str, Any]:
        return self._call("POST", "seed", {"customers": customers, "seed": seed, "burst": burst, "orphans": orphans,
                                           "clear": clear})

    def counts(self) -> dict[str, Any]:
        return self._call("GET", "counts")

    def create_key(self, name: str, roles: list[str]) -> str:
        return self._call("POST", "keys", {"name": name, "roles": roles})["token"]

    def keys(self) -> dict[str, Any]:
        return self._call("GET", "keys")

    def reset_rate_window(self) -> dict[str, Any]:
        return self._call("DELETE", "ratelimit")

    def touch(self, type_: str = "customer", ids: list[str] | None = None, count: int = 1) -> list[dict[str, Any]]:
        return self._call("POST", "touch", {"type": type_, "ids": ids or [], "count": count})["touched"]

    def put_records(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Insert or replace raw documents (odd values as given)."""
        return self._call("POST", "records", {"records": records})
