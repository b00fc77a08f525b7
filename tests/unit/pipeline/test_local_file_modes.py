"""Local outputs are private (issue #10 item 9): every file hdm writes on a machine is mode 0600 and every folder
it creates 0700, whatever the caller's umask (the tests run under a permissive 022 to prove the modes are
explicit). Covers the stage, the SQLite crosswalk (and its -wal/-shm files), state.json, the reports, the
discovery files' writer, `hdm approve` and the CLI's process umask (the thread review
page: tests/unit/threads/test_review_page_mode.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hdm.crosswalk.base import CrosswalkEntry, Origin, State
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.localfiles import private_dir, write_private
from hdm.stage.local import LocalStage
from test_local_engine import _engine


@pytest.fixture(autouse=True)
def permissive_umask():
    old = os.umask(0o022)  # what most shells have: without explicit modes, files would be 0644
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private_tree(root: Path, expect_files: int = 1) -> None:
    files = 0
    assert _mode(root) == 0o700, root
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            assert _mode(Path(dirpath) / d) == 0o700, f"{Path(dirpath) / d}: {oct(_mode(Path(dirpath) / d))}"
        for f in filenames:
            files += 1
            assert _mode(Path(dirpath) / f) == 0o600, f"{Path(dirpath) / f}: {oct(_mode(Path(dirpath) / f))}"
    assert files >= expect_files


def test_the_stage_writes_private_files_in_private_folders(tmp_path):
    stage = LocalStage(tmp_path / "m1" / "stage")
    stage.put_json("reports/phases/cases.json", {"x": 1})
    stage.write_records("extract/ticket/ticket-1.jsonl.gz", [{"subject": "secret body"}] * 3)
    stage.put_bytes("reports/reconciliation.html", b"<html>")
    assert_private_tree(tmp_path / "m1", expect_files=3)


def test_the_sqlite_crosswalk_and_its_journal_files_are_private(tmp_path):
    path = tmp_path / "m1" / "crosswalk.sqlite"
    cw = SqliteCrosswalk(path)
    cw.put_many([CrosswalkEntry("m1", "ticket:1", "Case", "cases", "r1", State.LOADED, Origin.CREATED, "500x",
                                None, None, "2026-01-01T00:00:00Z")])
    names = {p.name for p in path.parent.iterdir()}
    assert {"crosswalk.sqlite", "crosswalk.sqlite-wal", "crosswalk.sqlite-shm"} <= names
    assert_private_tree(path.parent, expect_files=3)


def test_an_existing_world_readable_crosswalk_is_tightened(tmp_path):
    path = tmp_path / "crosswalk.sqlite"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    SqliteCrosswalk(path)
    assert _mode(path) == 0o600


def test_a_local_run_leaves_only_private_files(tmp_path):
    """state.json, the stage (extracted records, reports) and the crosswalk of a whole run on the local engine."""
    outcome = _engine(tmp_path, {}).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    folder = tmp_path / "unit-test"
    assert (folder / "state.json").is_file() and (folder / "stage" / "reports" / "reconciliation.json").is_file()
    assert_private_tree(folder, expect_files=10)


def test_hdm_approve_rewrites_state_json_private(tmp_path):
    from hdm.cli import main

    folder = tmp_path / "m1"
    folder.mkdir()
    (folder / "state.json").write_text("{}")
    os.chmod(folder / "state.json", 0o644)
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(main, ["approve", "m1", "--workdir", str(tmp_path)])
        cli_umask = os.umask(0o022)
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert _mode(folder / "state.json") == 0o600
    assert cli_umask == 0o077  # the CLI sets a private umask for everything written on its behalf


def test_write_private_tightens_an_existing_file_and_private_dir_its_new_folders(tmp_path):
    target = tmp_path / "open.json"
    target.write_text("old")
    os.chmod(target, 0o666)
    write_private(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o600
    made = private_dir(tmp_path / "a" / "b" / "c")
    assert all(_mode(p) == 0o700 for p in (made, made.parent, made.parent.parent))
    os.chmod(made, 0o755)
    private_dir(made)
    assert _mode(made) == 0o700
    keep = tmp_path / "shared"
    keep.mkdir(mode=0o755)
    os.chmod(keep, 0o755)
    private_dir(keep / "ours")
    assert _mode(keep) == 0o755 and _mode(keep / "ours") == 0o700


def test_hdm_discover_writes_its_reports_private(tmp_path, monkeypatch):
    import hdm.engines.factories as factories
    import hdm.sources.osticket.inventory as inventory
    import hdm.sources.osticket.scoping as scoping
    from hdm.cli import main

    class Source:
        def close(self) -> None:
            pass

    monkeypatch.setattr(factories, "build_source", lambda cfg: Source())
    monkeypatch.setattr(scoping, "build_scoping_report", lambda source: {"version": "1.18", "prefix": "ost_"})
    monkeypatch.setattr(scoping, "render_scoping_markdown", lambda report: "# scoping: customer names here\n")
    monkeypatch.setattr(inventory, "build_inventory", lambda source: "# inventory\n")
    config = tmp_path / "migration.yaml"
    config.write_text("migration_id: m-discover\nsource: {type: osticket, database: x, user: u, password: 'env:NOPE'}\n"
                      "destination: {type: salesforce, username: u}\n")
    out = tmp_path / "discovery"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(main, ["discover", "--config", str(config), "--out", str(out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert_private_tree(out, expect_files=3)
