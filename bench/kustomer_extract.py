"""Benchmark: calls per extracted record of the Kustomer source against the floor, and the extraction's wall time
at the org's rate limits, with searches counted against their own limit.

Seeds the Kustomer emulator (``--customers``), runs the source's discover, plan and every chunk's extract (the
attachments' bytes are hashed, not kept), and counts the calls by family. The **floor** is one call per page of
records: a search page holds 500, a GET list page 100 (users/teams 500), plus one download per attachment. The
source pays more where Kustomer offers no cheaper read: the messages and notes of each conversation are one GET
each (``/conversations/{id}/messages`` and ``/notes``, notes skipped when ``noteCount`` is 0), the attachments one
GET per conversation; searches also go to planning (one per createdAt window) and the KObject parent check.
The projected wall time is the larger of calls / (org limit × share) and searches / (search limit × share).
Run: .venv/bin/python bench/kustomer_extract.py [--customers 300] [--chunk-rows 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import tempfile
import time
from collections import Counter

from hdm.sources.kustomer.client import KustomerApi
from hdm.sources.kustomer.source import KustomerSource
from hdm_infra.kustomeremu.client import AdminClient
from hdm_infra.kustomeremu.server import serve_in_thread


class HashingSink:
    def put_blob(self, chunks):
        digest, size = hashlib.sha256(), 0
        for block in chunks:
            digest.update(block)
            size += len(block)
        return f"blobs/{digest.hexdigest()}", digest.hexdigest(), size


def floor_calls(records: dict) -> tuple[int, int]:
    """(searches, other calls) an extractor needs at least: one per page of records, one per attachment."""
    pages = lambda n, size: math.ceil(n / size) if n else 0  # noqa: E731
    kobjects = records.get("kobject_by_klass", {})
    searches = sum(pages(records.get(t, 0), 500) for t in ("customer", "company", "conversation", "message", "note"))
    searches += sum(pages(n, 500) for n in kobjects.values())
    other = sum(pages(records.get(t, 0), 500) for t in ("user", "team"))
    other += sum(pages(records.get(t, 0), 100) for t in ("tag", "shortcut", "sla", "workflow", "business-rule",
                                                         "klass", "attachment"))
    other += records.get("metadata", 0) + records.get("attachment", 0)
    return searches, other


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-rows", type=int, default=2000)
    parser.add_argument("--org-limit", type=int, default=1000, help="org requests per minute (Enterprise 1,000)")
    parser.add_argument("--search-limit", type=int, default=100, help="searches per minute for API keys")
    parser.add_argument("--share", type=float, default=0.8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        running = serve_in_thread(state)
        try:
            admin = AdminClient(running)
            admin.reset()
            seeded = admin.seed(customers=args.customers, seed=args.seed)
            admin.knobs(rate_limit_per_minute=10**9, search_rate_limit_per_minute=10**9)
            api = KustomerApi(running.api_base, running.api_key, ca_bundle=running.cert_path,
                              rate_limit_per_minute=10**9, search_rate_limit_per_minute=10**9)
            source = KustomerSource(api)
            started = time.perf_counter()
            source.discover()
            chunks = source.plan(args.chunk_rows)
            by_type: Counter = Counter()
            for chunk in chunks:
                for rec in source.extract(chunk, HashingSink()):
                    by_type[rec.OBJECT.value] += 1
            seconds = time.perf_counter() - started
        finally:
            running.stop()
    figures = api.call_figures()
    records = seeded["counts"]
    floor_searches, floor_other = floor_calls(records)
    # lifecycle events are derived from conversations (no API record of their own): not in the per-record figure
    extracted = sum(n for t, n in by_type.items() if t != "event")
    share_org, share_search = args.org_limit * args.share, args.search_limit * args.share
    projected_min = max(figures["total"] / share_org, figures["searches"] / share_search)
    floor_min = max((floor_searches + floor_other) / share_org, floor_searches / share_search)
    families = {k: v["calls"] for k, v in figures["families"].items()}
    for family, calls in sorted(families.items(), key=lambda kv: -kv[1]):
        print(f"{calls:8d}  {family}")
    print(f"records extracted {extracted} (+{by_type['event']} derived events) in {len(chunks)} chunks, "
          f"{seconds:.1f} s against the emulator (no limits)")
    print(f"calls {figures['total']} (searches {figures['searches']}, other {figures['other']}); floor "
          f"{floor_searches + floor_other} (searches {floor_searches}, other {floor_other})")
    floor = floor_searches + floor_other
    print(f"calls per record {figures['total'] / extracted:.3f} vs floor {floor / extracted:.3f}")
    print(f"at {args.org_limit}/min org-wide and {args.search_limit} searches/min (share {args.share}): "
          f"{projected_min:.1f} min (floor {floor_min:.1f} min)")
    print(json.dumps({
        "bench": "kustomer_extract", "customers": args.customers, "records": extracted, "chunks": len(chunks),
        "by_type": dict(sorted(by_type.items())), "calls": figures["total"], "searches": figures["searches"],
        "other_calls": figures["other"], "floor_calls": floor_searches + floor_other, "floor_searches": floor_searches,
        "calls_per_record": round(figures["total"] / extracted, 4),
        "floor_calls_per_record": round((floor_searches + floor_other) / extracted, 4),
        "projected_minutes_at_limits": round(projected_min, 2), "floor_minutes_at_limits": round(floor_min, 2),
        "emulator_seconds": round(seconds, 2), "families": families,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
