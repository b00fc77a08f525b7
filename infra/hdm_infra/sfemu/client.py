"""Clients of a running emulator: a real simple-salesforce `Salesforce`, and the admin API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import requests
from simple_salesforce import Salesforce

from hdm_infra.emulators import kit
from hdm_infra.emulators.kit.client import trusted_session

from .app import ADMIN_TOKEN_HEADER
from .server import RunningEmulator

__all__ = ["AdminClient", "connect", "login_domain", "trusted_session"]

DEFAULT_VERSION = "59.0"


def login_domain(running: RunningEmulator) -> str:
    """The `domain=` value that points simple-salesforce's login URLs at the emulator.

    simple-salesforce builds `https://{domain}.salesforce.com/services/Soap/u/{v}` (and `/services/oauth2/token`);
    with domain `127.0.0.1:PORT/login` that is `https://127.0.0.1:PORT/login.salesforce.com/services/...`, a path
    the emulator answers.
    """
    parsed = urlparse(running.url)
    return f"{parsed.hostname}:{parsed.port}/login"


def connect(running: RunningEmulator, *, auth: str = "session", version: str = DEFAULT_VERSION,
            session: requests.Session | None = None) -> Salesforce:
    """A `simple_salesforce.Salesforce` bound to the emulator, through public constructor arguments only.

    auth: "session" (instance_url + session_id), "password" (SOAP login with username, password and security
    token), "oauth_password" (username/password + consumer key/secret) or "client_credentials".
    """
    creds = running.credentials
    session = session or trusted_session(running)
    if auth == "session":
        return Salesforce(instance_url=running.url, session_id=creds["access_token"], session=session, version=version)
    domain = login_domain(running)
    if auth == "password":
        return Salesforce(username=creds["username"], password=creds["password"],
                          security_token=creds["security_token"], domain=domain, session=session, version=version)
    if auth == "oauth_password":
        return Salesforce(username=creds["username"], password=creds["password"], consumer_key=creds["consumer_key"],
                          consumer_secret=creds["consumer_secret"], domain=domain, session=session, version=version)
    if auth == "client_credentials":
        return Salesforce(consumer_key=creds["consumer_key"], consumer_secret=creds["consumer_secret"],
                          domain=domain, session=session, version=version)
    raise ValueError(f"unknown auth {auth!r}")


class AdminClient(kit.AdminClient):
    """The emulator's /__admin endpoints (not counted as API calls): the kit's plus the org's."""

    token_header = ADMIN_TOKEN_HEADER

    def reset(self, users: list[dict[str, Any]] | None = None, queues: list[dict[str, Any]] | None = None,
              knobs: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("users", users), ("queues", queues), ("knobs", knobs)) if v}
        return self._call("POST", "reset", body)

    def seed(self, users: list[dict[str, Any]] | None = None,
             queues: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return self._call("POST", "seed", {"users": users or [], "queues": queues or []})

    def counts(self) -> dict[str, int]:
        return self._call("GET", "counts")

    def set_api_usage(self, used: int) -> dict[str, Any]:
        return self._call("POST", "usage", {"api_used": used})

    def expire_sessions(self) -> dict[str, Any]:
        return self._call("DELETE", "sessions")
