"""Pytest fixtures for the Salesforce emulator.

- `sfemu_server` (session): a `RunningEmulator` (url, cert_path, credentials, state_dir) serving TLS on 127.0.0.1
  in a background thread, state under a temporary directory.
- `sfemu` (function): an `SfemuHandle` for the same server, reset to an empty org (running user only) first;
  `.admin` is an `AdminClient`, `.connect(auth=...)` builds a simple-salesforce client.
- `sf` (function): `connect(sfemu)` - an unmodified `simple_salesforce.Salesforce` with instance_url + session_id.
- `sf_seeded` (function): like `sf`, after seeding two agents and a "Support" queue for Case (see SEED_USERS).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hdm_infra.sfemu.client import AdminClient, connect, login_domain, trusted_session
from hdm_infra.sfemu.server import RunningEmulator, serve_in_thread

__all__ = ["SEED_QUEUES", "SEED_USERS", "SfemuHandle", "connect", "login_domain", "trusted_session"]

SEED_USERS = [
    {"Username": "alice.agent@hdm.example", "Email": "alice@support.example", "LastName": "Agent",
     "FirstName": "Alice"},
    {"Username": "bob.agent@hdm.example", "Email": "bob@support.example", "LastName": "Agent", "FirstName": "Bob"},
    {"Username": "old.agent@hdm.example", "Email": "old@support.example", "LastName": "Gone", "IsActive": False},
]
SEED_QUEUES = [{"Name": "Support", "DeveloperName": "Support", "sobjectTypes": ["Case"],
                "members": ["alice.agent@hdm.example"]}]


@dataclass
class SfemuHandle:
    running: RunningEmulator
    admin: AdminClient

    @property
    def url(self) -> str:
        return self.running.url

    def connect(self, **kwargs: Any):  # noqa: ANN201 - simple_salesforce.Salesforce
        return connect(self.running, **kwargs)


@pytest.fixture(scope="session")
def sfemu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = serve_in_thread(tmp_path_factory.mktemp("sfemu"))
    yield running
    running.stop()


@pytest.fixture
def sfemu(sfemu_server: RunningEmulator) -> SfemuHandle:
    handle = SfemuHandle(running=sfemu_server, admin=AdminClient(sfemu_server))
    handle.admin.reset()
    return handle


@pytest.fixture
def sf(sfemu: SfemuHandle):  # noqa: ANN201
    return sfemu.connect()


@pytest.fixture
def sf_seeded(sfemu: SfemuHandle):  # noqa: ANN201
    sfemu.admin.seed(users=SEED_USERS, queues=SEED_QUEUES)
    return sfemu.connect()
