"""Clients of a running Kayako emulator: the admin API, and a `requests` session that trusts its certificate."""

from __future__ import annotations

from typing import Any

import requests

from hdm_infra.emulators import kit
from hdm_infra.emulators.kit.client import trusted_session

from .app import ADMIN_TOKEN_HEADER
from .server import RunningKayako

__all__ = ["AdminClient", "api_session", "trusted_session"]


def api_session(running: RunningKayako, basic: bool = True) -> requests.Session:
    """A plain `requests` session for the emulated API: trusts the emulator's certificate and, with ``basic``,
    carries the agent's Basic credentials (the first call's body then holds ``session_id``)."""
    session = trusted_session(running)
    if basic:
        creds = running.credentials
        session.auth = (creds["email"], creds["password"])
    return session


class AdminClient(kit.AdminClient):
    """The emulator's /__admin endpoints (not counted as API calls): the kit's plus Kayako's."""

    token_header = ADMIN_TOKEN_HEADER

    def reset(self) -> dict[str, Any]:
        """Empty help desk, default knobs, sessions dropped, counters cleared."""
        return self._call("POST", "reset")

    def seed(self, cases: int = 20, seed: int = 0, huge_post_bytes: int = 200_000,
             huge_attachment_bytes: int = 0) -> dict[str, Any]:
        """Replace the data with a generated help desk; returns {"plan": ..., "counts": ...}."""
        return self._call("POST", "seed", {"cases": cases, "seed": seed, "huge_post_bytes": huge_post_bytes,
                                           "huge_attachment_bytes": huge_attachment_bytes})

    def counts(self) -> dict[str, int]:
        return self._call("GET", "counts")

    def plan(self) -> dict[str, Any]:
        return self._call("GET", "plan")

    def credentials(self) -> dict[str, str]:
        return self._call("GET", "credentials")

    def touch(self, case_ids: list[int], at: str) -> dict[str, list[int]]:
        """A new note on each case and its updated_at set to ``at`` (what a delta run should pick up)."""
        return self._call("POST", "touch", {"case_ids": case_ids, "at": at})

    def expire_sessions(self) -> dict[str, int]:
        """Drop every session (the next call with an old X-Session-ID gets the session-expired status)."""
        return self._call("POST", "expire-sessions")
