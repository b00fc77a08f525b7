"""The review page renders in a real browser (headless Chromium) with the internal notes in red."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hdm.model import Visibility
from hdm.sources.osticket.rendered import split_rendered
from hdm.threads.review import INTERNAL_LABEL, TicketThread, build_review_page, select_sample
from hdm_infra.osticket.render import RenderOptions, render
from hdm_infra.testing.threads import make_thread
from PIL import Image
from selectolax.lexbor import LexborHTMLParser

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
def review_page(tmp_path_factory) -> tuple[Path, list[TicketThread]]:
    rng = random.Random(31)
    pool = []
    for i in range(6):
        fx = make_thread(rng, 300 + i, entries=6)
        html = render("staff", fx.ticket, fx.messages, fx.attachments, fx.events, RenderOptions(version="1.16.4"))
        pool.append(TicketThread(fx.ticket, fx.messages, fx.attachments, fx.events, rendered_html=html,
                                 split=split_rendered(html, "staff", "1.16.4", ticket=fx.ticket.key)))
    path = tmp_path_factory.mktemp("review") / "review.html"
    path.write_text(build_review_page(select_sample(pool, 4, seed=2)), encoding="utf-8")
    return path, pool


def test_the_review_page_shows_internal_notes_in_red_in_a_browser(review_page, tmp_path) -> None:
    path, _ = review_page
    shot = tmp_path / "review.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", path.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # not a blank page
    # the internal-note label background (#c62828) and block tint (#fdecea) are on screen
    present = {rgb for _, rgb in colours}
    assert (0xC6, 0x28, 0x28) in present and (0xFD, 0xEC, 0xEA) in present


def test_the_rendered_dom_keeps_every_internal_label(review_page, tmp_path) -> None:
    path, pool = review_page
    done = _chromium(tmp_path, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = LexborHTMLParser(done.stdout)
    sections = dom.css("section.ticket")
    assert len(sections) == 4
    by_key = {t.ticket.key: t for t in pool}
    for section in sections:
        thread = by_key[section.attributes["data-ticket"]]
        internal = [m for m in thread.messages if m.visibility is Visibility.INTERNAL]
        marked = section.css("div.segment.internal")
        assert len(marked) == len(internal)
        assert all((seg.css_first("span.label").text() or "") == INTERNAL_LABEL for seg in marked)
        assert section.css_first("iframe[sandbox]") is not None
