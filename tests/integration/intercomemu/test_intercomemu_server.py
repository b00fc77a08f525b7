"""The emulator as the demo starts it: `python -m hdm_infra.intercomemu serve --background` (one JSON banner), its
state folder kept across restarts (`start_subprocess`), its log receiving validation failures."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from hdm_infra.intercomemu.client import AdminClient, api_session
from hdm_infra.intercomemu.server import RunningIntercom, start_subprocess


def test_cli_and_subprocess_keep_the_workspace_and_token_across_restarts_and_log_validation_failures(tmp_path):
    state = tmp_path / "intercom"
    out = subprocess.run([sys.executable, "-m", "hdm_infra.intercomemu", "serve", "--state-dir", str(state),
                          "--background"], capture_output=True, text=True, timeout=120, check=True)
    banner = json.loads(out.stdout.strip().splitlines()[-1])
    assert banner["url"].startswith("https://127.0.0.1:") and banner["credentials_file"] == str(
        state / "credentials.json")
    first = RunningIntercom(url=banner["url"], cert_path=state / "tls" / "cert.pem", state_dir=state,
                            pid=banner["pid"])
    try:
        api = api_session(first)
        assert api.get(first.url + "/me").json()["type"] == "admin"
        made = api.post(first.url + "/contacts", json={"email": "kept@x.example", "external_id": "k-1"})
        assert made.status_code == 200, made.text
        AdminClient(first).knobs(corrupt_responses=["listTeams"])
        assert api.get(first.url + "/teams").status_code == 500
        token = first.access_token
    finally:
        os.kill(banner["pid"], 15)  # the process this test started
    log = (state / "server.log").read_text()
    assert "response failed OpenAPI validation: GET /teams -> 200" in log
    assert token not in log  # the access token never reaches the log
    for name in ("credentials.json", "admin-token", "workspace.sqlite3"):
        assert stat.S_IMODE(os.stat(state / name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    second = start_subprocess(state)
    try:
        api = api_session(second)
        assert second.access_token == token
        found = api.get(second.url + "/contacts/find_by_external_id/k-1")
        assert found.status_code == 200 and found.json()["id"] == made.json()["id"]
        assert api.get(second.url + "/teams").status_code == 200  # knobs start fresh
    finally:
        second.stop()
