"""The mapping review page renders in a real browser (headless Chromium): every proposed field is a row with its
target and confidence, value maps side by side, lossy and conflicting rows highlighted, values escaped."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hdm.destinations.salesforce.proposal import proposal_fields
from hdm.mapping.loader import load_document
from hdm.mapping.propose import propose
from hdm.mapping.propose.review import build_mapping_review
from PIL import Image
from selectolax.lexbor import LexborHTMLParser

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "fixtures" / "mapping_bench"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    profiles = json.loads((DATA / "osticket_profiles.json").read_text())
    hostile = copy.deepcopy(profiles)
    impact = next(f for f in hostile["objects"]["ticket"]["fields"] if f["name"] == "impact")
    impact["values"].append('{"x":"<script>alert(1)</script>"}')  # a value with no match, and markup
    data = propose(hostile, proposal_fields(json.loads((DATA / "org_acme.json").read_text())),
                   load_document("osticket", "salesforce")).data
    path = tmp_path_factory.mktemp("mapping") / "review.html"
    path.write_text(build_mapping_review(data), encoding="utf-8")
    return path, data


def test_every_field_is_a_row_with_its_target_value_map_and_flags(page, tmp_path):
    path, data = page
    done = _chromium(tmp_path, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = LexborHTMLParser(done.stdout)
    rows = dom.css("tr.field")
    assert len(rows) == sum(len(o["fields"]) for o in data["objects"].values())
    status = next(r for r in rows if r.attributes["data-source"] == "status")
    assert status.attributes["data-target"] == "Status"
    cells = [td.text(strip=True) for td in status.css("table.values td")]
    assert "Open" in cells and "17" in cells and any(c.startswith("New") for c in cells)
    impact = next(r for r in rows if r.attributes["data-source"] == "impact")
    assert "lossy" in impact.attributes["class"]  # the unmatched value is lossy and highlighted
    assert impact.css_first("td.none") is not None
    assert dom.css_first("script") is None and "<script>alert(1)</script>" in impact.text()  # shown, never run


def test_lossy_rows_are_highlighted_on_screen(page, tmp_path):
    path, _ = page
    shot = tmp_path / "review.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1600,9000", path.as_uri())
    assert shot.exists()
    colours = {rgb for _, rgb in (Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20) or [])}
    assert len(colours) > 20
    assert (0xFF, 0xF3, 0xCD) in colours  # the lossy row tint
    assert (0xC6, 0x28, 0x28) in colours  # the "decide" flag
