"""Pytest fixtures for the Intercom emulator.

- `intercomemu_server` (session): a `RunningIntercom` (url, cert_path, access_token, state_dir) serving TLS on
  127.0.0.1 in a background thread, state under a temporary directory.
- `intercomemu` (function): an `IntercomHandle` for the same server, reset first (empty workspace with the default
  admins and teams, default knobs plus `cross_check`: openapi-core re-validates every request and response);
  `.admin` is the `AdminClient`, `.api` a requests session with the bearer token
  and `Intercom-Version: 2.16`. At teardown it fails the test if any response of the test failed the OpenAPI
  validation (strict mode: such a response was a 500 too).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from hdm_infra.intercomemu.client import AdminClient, api_session, trusted_session
from hdm_infra.intercomemu.knobs import DEFAULT_ADMINS, DEFAULT_TEAMS
from hdm_infra.intercomemu.server import RunningIntercom, serve_in_thread

__all__ = ["DEFAULT_ADMINS", "DEFAULT_TEAMS", "IntercomHandle", "api_session", "trusted_session"]


@dataclass
class IntercomHandle:
    running: RunningIntercom
    admin: AdminClient
    api: requests.Session

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def access_token(self) -> str:
        return self.running.access_token


@pytest.fixture(scope="session")
def intercomemu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIntercom]:
    running = serve_in_thread(tmp_path_factory.mktemp("intercomemu"))
    yield running
    running.stop()


@pytest.fixture
def intercomemu(intercomemu_server: RunningIntercom) -> Iterator[IntercomHandle]:
    handle = IntercomHandle(running=intercomemu_server, admin=AdminClient(intercomemu_server),
                            api=api_session(intercomemu_server))
    handle.admin.reset(knobs={"cross_check": True})
    yield handle
    failures = handle.admin.validation_failures(clear=True)
    handle.api.close()
    assert not failures, f"emulator responses failed OpenAPI validation: {failures}"
