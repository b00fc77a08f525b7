"""The emulator kit, driven through its example emulator over real TLS on 127.0.0.1: the state folder and its
token are private, health is open and every other admin call needs the token, faults hit only the families they
name, counters count per family and survive a restart, and a subprocess is only handed back once it is healthy."""

from __future__ import annotations

import os
import ssl
import stat
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from hdm_infra.emulators import kit
from hdm_infra.emulators.kit.example import NotesEmulator


class NotesAdmin(kit.AdminClient):
    token_header = NotesEmulator.admin_token_header

    def reset(self):
        return self._call("POST", "reset")


@pytest.fixture
def notes(tmp_path):
    running = kit.serve_in_thread(NotesEmulator, tmp_path / "notes")
    try:
        yield running
    finally:
        running.stop()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_server_speaks_tls_on_loopback_with_a_certificate_clients_trust(notes):
    assert notes.url.startswith("https://127.0.0.1:")
    http = kit.trusted_session(notes)
    assert http.get(f"{notes.url}/api/ping", timeout=30).json() == {"pong": True}
    port = notes.url.rsplit(":", 1)[1]
    assert http.get(f"https://localhost:{port}/api/ping", timeout=30).status_code == 200  # both names are in it
    with pytest.raises(requests.exceptions.SSLError):  # not trusted without the emulator's certificate
        requests.get(f"{notes.url}/api/ping", timeout=30, verify=ssl.get_default_verify_paths().cafile or True)
    cert = x509.load_pem_x509_certificate(notes.cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


def test_the_state_folder_and_its_files_are_private_and_the_token_survives_a_restart(tmp_path):
    state = tmp_path / "notes"
    old = os.umask(0o022)  # a permissive umask: the modes must be explicit
    try:
        running = kit.serve_in_thread(NotesEmulator, state)
    finally:
        os.umask(old)
    try:
        token = running.admin_token
        NotesAdmin(running).counters()
        kit.trusted_session(running).post(f"{running.url}/api/notes", json={"text": "x"}, timeout=30)
        assert len(token) >= 32
        assert _mode(state) == 0o700 and _mode(state / "tls") == 0o700
        for name in ("admin-token", "tls/key.pem", "notes.json"):
            assert _mode(state / name) == 0o600, name
    finally:
        running.stop()
    assert _mode(state / "counters.json") == 0o600  # written on stop
    again = kit.serve_in_thread(NotesEmulator, state)
    try:
        assert again.admin_token == token
        assert NotesAdmin(again).counters()["families"] == {"notes_create": 1}  # counters survive a restart
    finally:
        again.stop()


@pytest.mark.parametrize("method,name", [("GET", "knobs"), ("PATCH", "knobs"), ("GET", "counters"),
                                         ("DELETE", "counters"), ("POST", "reset"), ("GET", "count"),
                                         ("GET", "no-such-endpoint")])
def test_every_admin_call_but_health_needs_the_token(notes, method, name):
    http = kit.trusted_session(notes)
    for headers in ({}, {NotesEmulator.admin_token_header: "wrong"}, {NotesEmulator.admin_token_header: ""},
                    {"X-Emulator-Admin-Token": notes.admin_token}):  # the right token under another header
        response = http.request(method, f"{notes.url}/__admin/{name}", json={}, headers=headers, timeout=30)
        assert response.status_code == 401, (name, headers, response.text)
    assert http.get(f"{notes.url}/__admin/health", timeout=30).json()["ok"] is True
    admin = NotesAdmin(notes)
    status = admin.http.request(method, f"{notes.url}/__admin/{name}", json={}, timeout=30).status_code
    assert status == (404 if name == "no-such-endpoint" else 200)


def test_a_refused_admin_call_changes_nothing(notes):
    http = kit.trusted_session(notes)
    http.post(f"{notes.url}/api/notes", json={"text": "keep me"}, timeout=30)
    assert http.post(f"{notes.url}/__admin/reset", timeout=30).status_code == 401
    assert http.patch(f"{notes.url}/__admin/knobs", json={"page_size": 1}, timeout=30).status_code == 401
    admin = NotesAdmin(notes)
    assert admin._call("GET", "count") == {"notes": 1}
    assert admin.knobs()["page_size"] == 50


def test_knobs_merge_and_refuse_unknown_names(notes):
    admin = NotesAdmin(notes)
    assert admin.knobs(page_size=2)["page_size"] == 2
    assert admin.knobs(faults={"seed": 3})["page_size"] == 2  # a partial document keeps the rest
    with pytest.raises(RuntimeError, match=r"400 .*unknown knob\(s\): \['nope'\]"):
        admin.knobs(nope=1)
    replaced = admin.replace_knobs({"faults": {"seed": 4}})  # PUT: defaults plus the document
    assert replaced["page_size"] == 50 and replaced["faults"]["seed"] == 4 and replaced["faults"]["rate_503"] == 0


def test_faults_hit_only_the_families_they_name(notes):
    admin, http = NotesAdmin(notes), kit.trusted_session(notes)
    admin.knobs(faults={"rate_503": 1.0, "families": ["notes_list"]})
    assert http.get(f"{notes.url}/api/notes", timeout=30).status_code == 503
    assert http.post(f"{notes.url}/api/notes", json={"text": "a"}, timeout=30).status_code == 201
    admin.knobs(faults={"rate_503": 0.0, "rate_429": 1.0})
    limited = http.get(f"{notes.url}/api/notes", timeout=30)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    admin.knobs(faults={"rate_429": 0.0, "rate_reset": 1.0})
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(f"{notes.url}/api/notes", timeout=30)
    admin.knobs(faults={"rate_reset": 0.0, "rate_slow": 1.0, "slow_seconds": 0.4})
    started = time.monotonic()
    assert http.get(f"{notes.url}/api/notes", timeout=30).status_code == 200
    assert time.monotonic() - started >= 0.4
    admin.knobs(faults={"rate_slow": 0.0, "rate_lock_row": 1.0, "families": []})
    assert http.post(f"{notes.url}/api/notes", json={"text": "b"}, timeout=30).json() == {"error": "row_locked"}
    assert admin._call("GET", "count") == {"notes": 1}  # the locked write wrote nothing


def test_counters_count_each_family_but_not_admin_calls(notes):
    admin, http = NotesAdmin(notes), kit.trusted_session(notes)
    admin.clear_counters()
    for _ in range(3):
        http.get(f"{notes.url}/api/notes", timeout=30)
    http.get(f"{notes.url}/api/ping", timeout=30)
    response = http.post(f"{notes.url}/api/notes", json={"text": "c"}, timeout=30)
    assert response.headers["X-Usage"] == "4"  # ping is counted but not charged
    admin.knobs()
    assert admin.counters() == {"families": {"notes_list": 3, "ping": 1, "notes_create": 1}, "total": 5,
                                "api_usage": 4}
    assert admin.clear_counters()["families"] == {}


def test_a_subprocess_is_handed_back_once_healthy_and_stops(tmp_path):
    running = kit.start_subprocess("hdm_infra.emulators.kit.example", tmp_path / "notes")
    try:
        assert running.pid and running.pid != os.getpid()
        assert running.describe()["admin_token_file"] == str(tmp_path / "notes" / "admin-token")
        assert kit.trusted_session(running).get(f"{running.url}/api/ping", timeout=30).status_code == 200
        assert NotesAdmin(running).reset() == {"reset": True}
    finally:
        running.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        kit.trusted_session(running).get(f"{running.url}/api/ping", timeout=5)


def test_a_subprocess_that_cannot_start_fails_within_its_timeout(tmp_path):
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="did not start"):
        kit.start_subprocess("hdm_infra.emulators.kit.no_such_module", tmp_path / "broken", timeout=20)
    assert time.monotonic() - started < 20
    assert "No module named" in (tmp_path / "broken" / "server.log").read_text()


def test_certificates_are_made_in_one_place():
    import hdm_infra

    root = Path(hdm_infra.__file__).parent
    builders = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if "CertificateBuilder" in p.read_text())
    assert builders == ["pki.py"]
