"""Benchmark: splitting rendered osTicket staff pages vs a bare lxml parse of the same HTML.

Pages: osTicket 1.18 staff ticket pages rendered by hdm_infra.osticket.render from generated threads
(~70 KiB, 20+ entries each, with events, attachments, inline images, notes). Each round times
``lxml.html.fromstring`` (baseline) and ``hdm.threads.split_rendered`` over the same pages; the
figures are medians over rounds. Target: split / lxml ≤ 3×.
Run: .venv/bin/python bench/thread_split.py [--pages 40] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import lxml.html
from hdm.threads import split_rendered
from hdm_infra.osticket.render import RenderOptions, render
from hdm_infra.testing.threads import make_thread


def build_pages(count: int, seed: int) -> tuple[list[str], int]:
    rng = random.Random(seed)
    pages: list[str] = []
    entries = 0
    for i in range(count):
        n = rng.randint(22, 33)
        fx = make_thread(rng, 10_000 + i, entries=n)
        pages.append(render("staff", fx.ticket, fx.messages, fx.attachments, fx.events,
                            RenderOptions(version="1.18", timezone="America/New_York")))
        entries += n
    return pages, entries


def time_once(fn, pages: list[str]) -> float:
    start = time.perf_counter()
    for page in pages:
        fn(page)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    pages, entries = build_pages(args.pages, args.seed)
    sizes = [len(p.encode("utf-8")) for p in pages]
    found = sum(len(split_rendered(p, "staff", "1.18").segments) for p in pages)
    assert found == entries, f"split found {found} entries, pages hold {entries}"

    def split(page: str) -> None:
        split_rendered(page, "staff", "1.18")

    lxml_times, split_times = [], []
    for _ in range(args.rounds):
        lxml_times.append(time_once(lxml.html.fromstring, pages))
        split_times.append(time_once(split, pages))
    lxml_t, split_t = statistics.median(lxml_times), statistics.median(split_times)
    per_lxml_ms = lxml_t / len(pages) * 1000
    per_split_ms = split_t / len(pages) * 1000
    ratio = split_t / lxml_t
    print(f"pages: {len(pages)}, mean size {statistics.mean(sizes) / 1024:.1f} KiB "
          f"(min {min(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}), entries {entries} "
          f"({entries / len(pages):.1f} per page), rounds {args.rounds}")
    print(f"lxml.html.fromstring (baseline): {per_lxml_ms:.3f} ms per page")
    print(f"split_rendered (staff, 1.18):    {per_split_ms:.3f} ms per page  -> {ratio:.2f}x baseline (target <= 3x)")
    print(f"split entries per second:        {entries / split_t:,.0f}  (lxml parse alone: {entries / lxml_t:,.0f})")
    print(json.dumps([
        {"name": "thread_split_ms_per_page", "value": round(per_split_ms, 4), "baseline": round(per_lxml_ms, 4),
         "ratio": round(ratio, 3)},
        {"name": "thread_split_entries_per_s", "value": round(entries / split_t), "baseline": round(entries / lxml_t),
         "ratio": round(lxml_t / split_t, 3)},
    ]))


if __name__ == "__main__":
    main()
