"""Benchmark: API calls per extracted record of the Kayako source against the floor, and wall time.

A generated help desk (``--cases``, seed 1) in the Kayako emulator; the source plans and extracts every chunk
(attachments streamed to a hashing sink). Figures:

- calls per record, against the **floor** of issue 13: one paged call per ``limit`` records plus one call per
  attachment (``ceil((records - attachments) / limit) + attachments``);
- the **structural floor** of Kayako's API, which also needs one listing per case (posts have no listing across
  cases) and one per user and per organization (notes have none either);
- wall time, and with ``--rate-limit N`` (the emulator answers 429 beyond N calls a minute, the source spreads its
  calls to ``--share`` of N) the time against the least the limit allows (calls / N minutes).

Run: .venv/bin/python bench/kayako_extract.py [--cases 300] [--page-size 100] [--chunk-rows 500]
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hdm.http import RetryPolicy
from hdm.sources.kayako.client import KayakoClient
from hdm.sources.kayako.source import KayakoSource
from hdm_infra.kayakoemu.client import AdminClient
from hdm_infra.kayakoemu.server import serve_in_thread


class HashingSink:
    def __init__(self) -> None:
        self.bytes = 0

    def put_blob(self, chunks: Any) -> tuple[str, str, int]:
        digest, size = hashlib.sha256(), 0
        for block in chunks:
            digest.update(block)
            size += len(block)
        self.bytes += size
        return f"blobs/{digest.hexdigest()}", digest.hexdigest(), size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--chunk-rows", type=int, default=500)
    parser.add_argument("--rate-limit", type=int, default=0, help="calls a minute the emulator allows (0: none)")
    parser.add_argument("--share", type=float, default=0.9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        running = serve_in_thread(Path(state))
        try:
            admin = AdminClient(running)
            admin.reset()
            seeded = admin.seed(cases=args.cases, seed=1, huge_post_bytes=100_000)
            if args.rate_limit:
                admin.knobs(rate_limit_per_minute=args.rate_limit)
            creds = running.credentials
            client = KayakoClient(running.api_url, creds["email"], creds["password"], ca_bundle=str(running.cert_path),
                                  page_size=args.page_size, rate_limit_per_minute=args.rate_limit or None,
                                  rate_share=args.share, retry=RetryPolicy(attempts=10, total=3600.0))
            source = KayakoSource(client, page_size=args.page_size)
            sink = HashingSink()
            started = time.perf_counter()
            plan = source.plan(args.chunk_rows)
            by_type: Counter = Counter()
            for chunk in plan:
                for rec in source.extract(chunk, sink):
                    by_type[rec.OBJECT.value] += 1
            seconds = time.perf_counter() - started
            server_calls = admin.counters()
        finally:
            running.stop()
    counts = seeded["counts"]
    records = sum(by_type.values())
    attachments = by_type["attachment"]
    calls = client.counters.total + client.auth.logins
    floor = math.ceil((records - attachments) / args.page_size) + attachments
    structural = floor + counts["case"] + counts["organization"] + (counts["user"])
    families = {f: v["calls"] for f, v in client.counters.snapshot().items()}
    print(f"{args.cases} cases: {records} records ({dict(sorted(by_type.items()))})")
    print(f"{len(plan)} chunks, {calls} calls (logins {client.auth.logins}; the emulator counted "
          f"{server_calls.get('total')}), {sink.bytes / 1e6:.1f} MB of attachments, {seconds:.1f} s")
    print(f"calls/record {calls / records:.3f}; floor {floor} calls ({floor / records:.3f}/record) -> "
          f"{calls / floor:.2f}x the floor; structural floor (+1 per case, user, organization) {structural} "
          f"-> {calls / structural:.2f}x")
    for family, n in sorted(families.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {family:32} {n}")
    result: dict[str, Any] = {
        "name": "kayako_extract", "cases": args.cases, "records": records, "attachments": attachments,
        "calls": calls, "calls_per_record": round(calls / records, 4), "floor_calls": floor,
        "floor_ratio": round(calls / floor, 3), "structural_floor_calls": structural,
        "structural_ratio": round(calls / structural, 3), "seconds": round(seconds, 2),
        "page_size": args.page_size, "families": families,
    }
    if args.rate_limit:
        least = calls / args.rate_limit * 60.0
        print(f"rate limit {args.rate_limit}/min: {seconds:.1f} s against at least {least:.1f} s "
              f"({seconds / least:.2f}x)")
        result.update(rate_limit_per_minute=args.rate_limit, least_seconds=round(least, 1),
                      rate_ratio=round(seconds / least, 3))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
