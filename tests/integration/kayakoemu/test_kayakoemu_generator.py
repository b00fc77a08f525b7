"""The seeded generator: deterministic, any size, the CLI, and the emulator as a subprocess."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner
from hdm_infra.kayakoemu.__main__ import cli
from hdm_infra.kayakoemu.client import AdminClient, api_session
from hdm_infra.kayakoemu.generator import generate
from hdm_infra.kayakoemu.server import start_subprocess
from hdm_infra.kayakoemu.store import Store


def dump(path: Path) -> list[tuple]:
    with sqlite3.connect(path / "kayako.sqlite3") as db:
        rows = db.execute("SELECT rtype, id, parent, body FROM objects ORDER BY rtype, id").fetchall()
        rows += db.execute("SELECT 'blob', id, owner, hex(data) FROM blobs ORDER BY id").fetchall()
    return rows


def seeded(path: Path, cases: int, seed: int) -> dict:
    store = Store(path)
    try:
        return generate(store, cases, seed, huge_post_bytes=5_000)
    finally:
        store.close()


def test_same_seed_same_desk_other_seed_other_desk(tmp_path: Path) -> None:
    plan_a = seeded(tmp_path / "a", 15, 42)
    plan_b = seeded(tmp_path / "b", 15, 42)
    seeded(tmp_path / "c", 15, 43)
    assert plan_a == plan_b
    assert dump(tmp_path / "a") == dump(tmp_path / "b")
    assert dump(tmp_path / "a") != dump(tmp_path / "c")
    # reseeding a folder replaces, it does not add
    seeded(tmp_path / "a", 15, 42)
    assert dump(tmp_path / "a") == dump(tmp_path / "b")


def test_any_size(tmp_path: Path) -> None:
    for cases in (0, 3, 60):
        store = Store(tmp_path / str(cases))
        plan = generate(store, cases, 1, huge_post_bytes=1_000)
        counts = store.counts()
        store.close()
        assert counts.get("case", 0) == cases
        assert counts["user"] >= 6 and counts["case_field"] > 10 and counts["article"] >= 6
        if cases >= 8:
            for key in ("trashed_case_id", "suspended_case_id", "huge_post_case_id", "non_ascii_case_id",
                        "inline_image_case_id", "out_of_order_case_id", "deleted_field_case_id",
                        "merged_creator_case_id"):
                assert key in plan
        assert counts.get("post", 0) >= cases


def test_cli_seed_then_serve_as_subprocess(tmp_path: Path) -> None:
    state = tmp_path / "desk"
    result = CliRunner().invoke(cli, ["seed", "--state-dir", str(state), "--cases", "9", "--seed", "5",
                                      "--huge-post-bytes", "2000", "--huge-attachment-bytes", "300000"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["counts"]["case"] == 9 and printed["plan"]["seed"] == 5
    assert (state.stat().st_mode & 0o777) == 0o700
    assert ((state / "kayako.sqlite3").stat().st_mode & 0o777) == 0o600
    running = start_subprocess(state)
    try:
        assert running.pid and AdminClient(running).counts()["case"] == 9
        body = api_session(running).get(f"{running.api_url}/cases", params={"limit": 20}).json()
        assert body["total_count"] == 9 and body["session_id"]
        http = api_session(running)
        huge_case = printed["plan"]["huge_post_case_id"]
        posts = http.get(f"{running.api_url}/cases/{huge_case}/posts", params={"include": "attachment"}).json()
        huge = [a for p in posts["data"] for a in p["attachments"] if a["id"] == printed["plan"]["huge_attachment_id"]]
        assert huge and huge[0]["size"] == 300_000
        assert len(http.get(huge[0]["url_download"]).content) == 300_000
        assert running.describe()["api_url"].endswith("/api/v1")
    finally:
        running.stop()
