"""The client side of an emulator: a session that trusts its certificate, and the admin API client base."""

from __future__ import annotations

from typing import Any

import requests

from .app import ADMIN_PREFIX
from .server import RunningServer


def trusted_session(running: RunningServer) -> requests.Session:
    """A requests session that trusts the emulator's certificate (and nothing is patched)."""
    session = requests.Session()
    session.verify = str(running.cert_path)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify unless the environment is ignored
    session.trust_env = False
    return session


class AdminClient:
    """The emulator's /__admin endpoints (not counted as API calls); sends the token from the state folder."""

    token_header = "X-Emulator-Admin-Token"

    def __init__(self, running: RunningServer) -> None:
        self.running = running
        self.http = trusted_session(running)
        self.http.headers[self.token_header] = running.admin_token
        self.base = f"{running.url}{ADMIN_PREFIX}"

    def _call(self, method: str, name: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.base}/{name}", json=body, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"admin {method} {name} failed: {response.status_code} {response.text[:500]}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def knobs(self, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the knobs (no arguments: read them)."""
        return self._call("PATCH", "knobs", changes) if changes else self._call("GET", "knobs")

    def replace_knobs(self, document: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", "knobs", document)

    def counters(self) -> dict[str, Any]:
        return self._call("GET", "counters")

    def clear_counters(self) -> dict[str, Any]:
        return self._call("DELETE", "counters")
