"""Two `hdm run` processes of one migration (MariaDB → emulator): the second is refused at once with exit
status 6 naming the first's pid; the first completes; the crosswalk and the org agree."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hdm import exitcodes
from hdm.crosswalk.base import Origin, State
from hdm.crosswalk.sqlite import SqliteCrosswalk

pytestmark = pytest.mark.timeout(600)


def test_a_second_hdm_run_is_refused_while_the_first_runs(rehearsal, tmp_path):
    make, _db, sfemu = rehearsal
    config = tmp_path / "migration.yaml"
    config.write_text(yaml.safe_dump(make("e2e-lock", require_approval=False).to_json()))
    hdm = str(Path(sys.executable).with_name("hdm"))
    workdir = tmp_path / "work"
    lock = workdir / "e2e-lock" / "run.lock"
    first = subprocess.Popen([hdm, "run", "--config", str(config), "--workdir", str(workdir), "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip()):  # the first run holds the lock
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.05)
        assert json.loads(lock.read_text())["pid"] == first.pid
        started = time.monotonic()
        second = subprocess.run([hdm, "run", "--config", str(config), "--workdir", str(workdir), "--no-progress"],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert time.monotonic() - started < 30  # refused at once, not after waiting for the first
        assert second.returncode == exitcodes.LOCKED, second.stderr
        assert f"pid {first.pid}" in second.stderr and second.stderr.strip().count("\n") == 0
        out, err = first.communicate(timeout=400)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
    assert first.returncode == 0, err
    assert "succeeded" in out
    crosswalk = SqliteCrosswalk(workdir / "e2e-lock" / "crosswalk.sqlite")
    created = [e for e in crosswalk.iter_migration("e2e-lock") if e.origin == Origin.CREATED
               and e.state == State.LOADED and e.dest_object == "Case"]
    assert created and len({e.dest_id for e in created}) == len(created)
    assert sfemu.admin.counts().get("Case", 0) == len(created)  # no Case twice, none the crosswalk misses
