"""Clients of a running emulator: a requests session for the API (bearer token, Intercom-Version, trusted
certificate), and the admin API."""

from __future__ import annotations

from typing import Any

import requests

from hdm_infra.emulators import kit
from hdm_infra.emulators.kit.client import trusted_session

from .app import ADMIN_TOKEN_HEADER
from .server import RunningIntercom

__all__ = ["AdminClient", "api_session", "trusted_session"]


def api_session(running: RunningIntercom, version: str = "2.16") -> requests.Session:
    """A requests session that talks to the emulator as an Intercom app would (no patching of anything)."""
    session = trusted_session(running)
    session.headers.update({"Authorization": f"Bearer {running.access_token}", "Intercom-Version": version,
                            "Accept": "application/json"})
    return session


class AdminClient(kit.AdminClient):
    """The emulator's /__admin endpoints (not counted as API calls): the kit's plus the workspace's."""

    token_header = ADMIN_TOKEN_HEADER

    def reset(self, admins: list[dict[str, Any]] | None = None, teams: list[dict[str, Any]] | None = None,
              knobs: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("admins", admins), ("teams", teams), ("knobs", knobs)) if v}
        return self._call("POST", "reset", body)

    def seed(self, admins: list[dict[str, Any]] | None = None,
             teams: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return self._call("POST", "seed", {"admins": admins or [], "teams": teams or []})

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        return self._call("GET", "dump")

    def counts(self) -> dict[str, int]:
        return self._call("GET", "counts")

    def deliveries(self) -> list[dict[str, Any]]:
        return self._call("GET", "deliveries")["deliveries"]

    def validation_failures(self, clear: bool = False) -> list[dict[str, Any]]:
        return self._call("DELETE" if clear else "GET", "validation")["failures"]
