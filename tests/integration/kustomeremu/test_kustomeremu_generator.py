"""The Kustomer emulator's generator and command line: the same options give the same org (ids, timestamps, bytes),
another seed another one; `seed` then `serve` from the command line serve it over TLS from a private state folder
that survives a restart."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from hdm_infra.kustomeremu.client import AdminClient, api_session
from hdm_infra.kustomeremu.generator import SeedSpec, generate
from hdm_infra.kustomeremu.server import serve_in_thread, start_subprocess
from hdm_infra.testing.kustomeremu import read_all


def _dump(result) -> str:
    docs, blobs, latest, burst = result
    return json.dumps([docs, [(i, b.hex()) for i, b in blobs], latest.isoformat(), burst], sort_keys=True)


def test_the_same_options_give_the_same_org_and_another_seed_another():
    first = generate(SeedSpec(customers=80, seed=4))
    assert _dump(first) == _dump(generate(SeedSpec(customers=80, seed=4)))
    other = generate(SeedSpec(customers=80, seed=5))
    assert _dump(other) != _dump(first)
    docs = first[0]
    assert sum(d["type"] == "customer" for d in docs) == 80
    assert len({(d["type"], d["id"]) for d in docs}) == len(docs)  # ids unique
    assert first[3] == {"customer": 40, "conversation": 40}  # burst: customers // 2 by default
    assert len({d["id"] for d in docs if d["type"] == "attachment"}) == len(first[1])  # every attachment has bytes
    empty = generate(SeedSpec(customers=0, seed=1))[0]
    assert not [d for d in empty if d["type"] in ("customer", "conversation", "kobject")]
    assert {d["type"] for d in empty} >= {"user", "team", "tag", "klass", "metadata", "workflow", "sla"}


def test_seeding_a_server_twice_serves_identical_records(kustomeremu):
    http = kustomeremu.session()
    kustomeremu.admin.seed(customers=25, seed=9)
    first = http.get(f"{kustomeremu.api_base}/conversations", params={"pageSize": 100}, timeout=30).json()["data"]
    kustomeremu.admin.seed(customers=25, seed=9)
    again = http.get(f"{kustomeremu.api_base}/conversations", params={"pageSize": 100}, timeout=30).json()["data"]
    assert first == again and first
    counts = kustomeremu.admin.counts()["records"]
    assert counts["customer"] == 25 and counts["kobject_by_klass"]["order"] > 0


def test_seed_and_serve_from_the_command_line_with_a_private_state_folder_that_survives_a_restart(tmp_path):
    state = tmp_path / "kustomer"
    out = subprocess.run([sys.executable, "-m", "hdm_infra.kustomeremu", "seed", "--state-dir", str(state),
                          "--customers", "30", "--seed", "2", "--burst", "10", "--orphans", "3"],
                         capture_output=True, text=True, timeout=120, check=True)
    seeded = json.loads(out.stdout)
    assert seeded["counts"]["customer"] == 30 and seeded["seeded"]["orphans"] == 3
    running = start_subprocess(state)
    try:
        assert running.url.startswith("https://127.0.0.1:") and running.pid
        http = api_session(running)
        customers = read_all(http, running.api_base, "/customers", page_size=100)
        assert len(customers) == 30
        assert AdminClient(running).counts()["records"]["customer"] == 30
    finally:
        running.stop()
    for name in ("kustomer.sqlite", "api-keys.json", "admin-token"):
        assert stat.S_IMODE(os.stat(state / name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    again = serve_in_thread(state)
    try:
        http = api_session(again)
        assert [c["id"] for c in read_all(http, again.api_base, "/customers")] == [c["id"] for c in customers]
    finally:
        again.stop()
