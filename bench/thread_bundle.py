"""Benchmark: Thread bundle validation and extraction throughput against reading the same files with a plain JSON
line reader (the floor), and peak memory at two bundle sizes (memory should stay about flat as the bundle grows).

Two bundles are generated (``--sizes`` tickets each; reviews a quarter of that). For each, a child process runs one
of three passes over the same staged files and reports its time and peak RSS:

- ``floor``: every line of every JSONL file read and parsed with ``json.loads`` (nothing checked);
- ``validate``: the whole check of ``hdm`` (manifest schema, sizes and sha256, every line against its file's JSON
  Schema, the cross-file orphan checks);
- ``extract``: planning and extracting every chunk into canonical records (attachment bytes staged).

Run: .venv/bin/python bench/thread_bundle.py [--sizes 500,2000] [--out var/bench-thread]
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(mode: str, folder: str, stage_dir: str) -> None:
    from hdm.sources.export.bundle import FolderBundle, _lines, read_manifest
    from hdm.sources.thread.source import THREAD, ThreadSource
    from hdm.stage.local import LocalStage

    start = time.perf_counter()
    lines = 0
    if mode == "floor":
        files = FolderBundle(folder)
        for entry in read_manifest(files, THREAD).files:
            with files.open(entry.path) as f:
                for raw in _lines(f):
                    if raw.strip():
                        json.loads(raw)
                        lines += 1
    elif mode == "validate":
        found = ThreadSource(path=folder).discover()
        lines = sum(found.counts.values())
    else:
        src = ThreadSource(path=folder)
        src.attach_stage(LocalStage(stage_dir))
        found = src.discover()
        lines = sum(found.counts.values())
        start = time.perf_counter()  # staging (a copy) is not extraction
        for chunk in src.plan(1000):
            for _rec in src.extract(chunk, blobs=src.stage):
                pass
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "lines": lines, "seconds": seconds, "peak_mib": round(peak_kib / 1024, 1)}))


def run(mode: str, folder: Path, stage_dir: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(folder), str(stage_dir)], check=True,
                         capture_output=True, text=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,2000", help="tickets per bundle (two sizes)")
    parser.add_argument("--out", default=None, help="where to write the bundles (default: a temporary folder)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from hdm_infra.thread_bundle import write_bundle

    root = Path(args.out or tempfile.mkdtemp(prefix="bench-thread-"))
    results: dict[str, dict] = {}
    try:
        for tickets in (int(s) for s in args.sizes.split(",")):
            folder = root / f"bundle-{tickets}"
            if not folder.exists():
                write_bundle(folder, tickets=tickets, reviews=max(1, tickets // 4), agents=8, customers=200)
            size_mib = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
            row = {"tickets": tickets, "bundle_mib": round(size_mib, 1)}
            for mode in ("floor", "validate", "extract"):
                stage_dir = root / f"stage-{tickets}-{mode}"
                r = run(mode, folder, stage_dir)
                shutil.rmtree(stage_dir, ignore_errors=True)
                row["lines"] = r["lines"]
                row[f"{mode}_lines_per_s"] = round(r["lines"] / r["seconds"])
                row[f"{mode}_peak_mib"] = r["peak_mib"]
            row["validate_vs_floor"] = round(row["floor_lines_per_s"] / row["validate_lines_per_s"], 1)
            row["extract_vs_floor"] = round(row["floor_lines_per_s"] / row["extract_lines_per_s"], 1)
            print(f"{tickets:>6} tickets, {row['lines']:>7} lines, {row['bundle_mib']:6.1f} MiB: floor "
                  f"{row['floor_lines_per_s']:>8}/s; validate {row['validate_lines_per_s']:>7}/s "
                  f"({row['validate_vs_floor']}x slower, peak {row['validate_peak_mib']} MiB); extract "
                  f"{row['extract_lines_per_s']:>7}/s ({row['extract_vs_floor']}x, peak {row['extract_peak_mib']} MiB)")
            results[str(tickets)] = row
    finally:
        if not args.out:
            shutil.rmtree(root, ignore_errors=True)
    small, large = (results[k] for k in sorted(results, key=int))
    growth = {m: round(large[f"{m}_peak_mib"] / small[f"{m}_peak_mib"], 2) for m in ("validate", "extract")}
    print(json.dumps({"bench": "thread_bundle", "sizes": results, "peak_memory_growth": growth,
                      "line_growth": round(large["lines"] / small["lines"], 2)}))


if __name__ == "__main__":
    main()
