"""hdm.threads is generic body handling, confidence and review: osTicket's page scraping (its markup, the
rendered-page splitter, the page loader and the thread review command) lives in hdm.sources.osticket.rendered."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

THREADS = Path(__file__).resolve().parents[3] / "layers" / "hdm" / "hdm" / "threads"
# what reading osTicket's pages needs: its thread containers and entry classes, its page kinds
SCRAPING = re.compile(r"thread-items|ticketThread|ticket_thread|thread-entry|thread-event|"
                      r"\bsplit_rendered\b|\bdetect_page_kind\b")


def test_no_threads_module_scrapes_osticket_pages_or_imports_a_connector():
    hits = []
    for path in sorted(THREADS.glob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SCRAPING.search(line) or re.search(r"\bhdm\.sources\b", line) and "import" in line:
                hits.append(f"{path.name}:{n}: {line.strip()}")
    assert hits == []


def test_the_thread_review_command_is_offered_by_the_osticket_connector():
    from hdm.cli import main

    result = CliRunner().invoke(main, ["threads", "validate", "--help"])
    assert result.exit_code == 0, result.output
    assert "--html" in result.output and "--records" in result.output
