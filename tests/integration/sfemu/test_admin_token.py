"""The emulator's admin API needs its token (issue #10 item 9): another local user can reach 127.0.0.1, but
cannot read the token (0600 in a 0700 state folder), so cannot reset the org, change knobs or read credentials."""

from __future__ import annotations

import os
import stat

import pytest
from hdm_infra.sfemu.app import ADMIN_TOKEN_HEADER
from hdm_infra.sfemu.client import AdminClient, trusted_session
from hdm_infra.sfemu.server import serve_in_thread, start_subprocess


@pytest.fixture
def running(tmp_path):
    emulator = serve_in_thread(tmp_path / "org")
    try:
        yield emulator
    finally:
        emulator.stop()


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("method,name", [("POST", "reset"), ("POST", "seed"), ("PATCH", "knobs"), ("GET", "knobs"),
                                         ("GET", "counters"), ("DELETE", "counters"), ("GET", "counts"),
                                         ("POST", "usage"), ("DELETE", "sessions"), ("GET", "credentials")])
def test_every_admin_call_without_the_token_is_refused(running, method, name):
    http = trusted_session(running)
    for headers in ({}, {ADMIN_TOKEN_HEADER: "wrong"}, {ADMIN_TOKEN_HEADER: ""}):
        response = http.request(method, f"{running.url}/__admin/{name}", json={}, headers=headers, timeout=30)
        assert response.status_code == 401, (name, headers, response.text)
        assert running.credentials["password"] not in response.text
    assert AdminClient(running).counts() is not None  # the holder of the token gets through


def test_a_refused_reset_changes_nothing(running):
    admin = AdminClient(running)
    admin.reset()
    admin.seed(users=[{"Username": "a@x.example", "Email": "a@x.example", "LastName": "A", "IsActive": True}])
    before = admin.counts()
    refused = trusted_session(running).post(f"{running.url}/__admin/reset", json={}, timeout=30)
    assert refused.status_code == 401
    assert admin.counts() == before


def test_health_needs_no_token(running):
    assert trusted_session(running).get(f"{running.url}/__admin/health", timeout=30).json()["ok"] is True


def test_the_token_and_the_state_are_private(tmp_path):
    state = tmp_path / "org"
    old = os.umask(0o022)  # a permissive umask: the modes must be explicit
    try:
        emulator = serve_in_thread(state)
    finally:
        os.umask(old)
    try:
        token = emulator.admin_token
        assert len(token) >= 32
        assert _mode(state) == 0o700
        for name in ("admin-token", "credentials.json", "org.sqlite3", "tls/key.pem"):
            assert _mode(state / name) == 0o600, name
        assert emulator.describe()["admin_token_file"] == str(state / "admin-token")
    finally:
        emulator.stop()
    again = serve_in_thread(state)  # the token survives a restart (clients keep working)
    try:
        assert again.admin_token == token
    finally:
        again.stop()
    other = serve_in_thread(tmp_path / "other")
    try:
        assert other.admin_token != token  # random per state folder
    finally:
        other.stop()


def test_the_background_server_reports_where_its_token_is(tmp_path):
    emulator = start_subprocess(tmp_path / "org")
    try:
        assert emulator.admin_token_path.is_file() and _mode(emulator.admin_token_path) == 0o600
        assert AdminClient(emulator).reset()["reset"] is True
        assert trusted_session(emulator).get(f"{emulator.url}/__admin/counts", timeout=30).status_code == 401
    finally:
        emulator.stop()
