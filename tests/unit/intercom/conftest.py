"""Fixtures of the Intercom destination's unit tests (the in-memory Intercom is fake_intercom.FakeIntercom)."""

from __future__ import annotations

import pytest
from fake_intercom import FakeIntercom


@pytest.fixture
def fake_intercom():
    return FakeIntercom(
        admins=[{"id": "1", "email": "owner@hdm.example", "name": "Owner"},
                {"id": "2", "email": "alice@agents.example.test", "name": "Alice"}],
        teams=[{"id": "77", "name": "Support"}])
