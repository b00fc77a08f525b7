"""A whole local migration (osTicket on MariaDB → Salesforce emulator), and how much of its wall time the
emulator takes (issue 4: the emulator must not dominate any benchmark).

    .venv/bin/python bench/e2e_migration.py [--tickets 2000] [--dir var/bench-e2e]

Figures, all from the same run:
- migration wall time, beside the time the emulator's process spent on the CPU (its share of the run);
- records loaded per second, beside the rate at which the same source rows are only extracted and staged
  (what the rest of the pipeline costs on top of reading the source).
The emulator runs in its own process, so its CPU time is measured apart from hdm's.
Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import psutil
from hdm.engines.local import LocalEngine
from hdm.pipeline import steps
from hdm_infra.mariadb import MariaDB
from hdm_infra.osticket.generator import GeneratorOptions, generate
from hdm_infra.rehearsal import SourceDb, agent_emails, destination_users, migration_config, prepare_org
from hdm_infra.sfemu.server import start_subprocess


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--dir", default="var/bench-e2e")
    args = parser.parse_args()
    base = Path(args.dir).resolve()
    shutil.rmtree(base / "migrations", ignore_errors=True)

    server = MariaDB.start(base / "mariadb")
    database = f"bench_{args.tickets}"
    server.drop_database(database)
    server.create_osticket_database(database, version="1.18", prefix="ost_")
    files = base / "files"
    shutil.rmtree(files, ignore_errors=True)
    with server.connect(database=database) as conn:
        manifest = generate(conn, GeneratorOptions(tickets=args.tickets, seed=3, files_dir=files))
        emails = agent_emails(conn, "ost_")
    server.create_user("bench_reader", "bench-reader-pw", database, read_only=True)
    emulator = start_subprocess(base / "sfemu")
    try:
        prepare_org(emulator, destination_users(emails))
        proc = psutil.Process(_emulator_pid(emulator))
        db = SourceDb("127.0.0.1", server.port, "bench_reader", "bench-reader-pw", database, "ost_", files)

        # baseline: the same source rows, extracted and staged only (no transform, no load)
        only_extract = LocalEngine(migration_config("bench-extract", db, emulator, base / "secrets"),
                                   workdir=base / "migrations", progress=False)
        ctx, pools = only_extract._context("bench")
        t0 = time.perf_counter()
        steps.discover(ctx)
        items = only_extract.stage.get_json(steps.EXTRACT_MANIFEST)
        only_extract._fan_out("extract", lambda it: steps.extract_chunk(ctx, it), items, 2)
        extract_seconds = time.perf_counter() - t0
        for p in pools:
            p.close()

        engine = LocalEngine(migration_config("bench-e2e", db, emulator, base / "secrets"),
                             workdir=base / "migrations", progress=False)
        cpu0 = sum(proc.cpu_times()[:2])
        t0 = time.perf_counter()
        outcome = engine.run(approve=True)
        wall = time.perf_counter() - t0
        emulator_cpu = sum(proc.cpu_times()[:2]) - cpu0
    finally:
        emulator.stop()
        server.stop()
    if outcome.status != "succeeded":
        print(f"migration {outcome.status}: {outcome.message}")
        return 2
    totals = outcome.report["totals"]
    records = outcome.report["source"]["extracted_total"]
    loaded = totals["loaded"] + totals["matched"] + totals["merged"]
    share = emulator_cpu / wall
    print(f"{args.tickets} tickets, {records} source records ({dict(manifest.objects)})")
    print(f"migration wall time {wall:.1f} s; emulator CPU time {emulator_cpu:.1f} s "
          f"-> emulator share {share:.0%} of the run")
    print(f"loaded {loaded} records: {loaded / wall:,.0f} records/s end to end | baseline, extract+stage only: "
          f"{records / extract_seconds:,.0f} records/s ({extract_seconds:.1f} s)")
    print(f"API calls: {totals['api_calls']} ({1000 * totals['api_calls'] / max(loaded, 1):.2f} per 1,000 records)")
    print(json.dumps([
        {"name": "e2e_emulator_cpu_seconds_vs_wall", "value": round(emulator_cpu, 2), "baseline": round(wall, 2),
         "ratio": round(share, 3)},
        {"name": "e2e_records_per_s", "value": round(loaded / wall), "baseline": round(records / extract_seconds),
         "ratio": round((loaded / wall) / (records / extract_seconds), 3)},
    ]))
    return 0


def _emulator_pid(emulator) -> int:
    """The emulator subprocess's pid (from its JSON banner's state folder)."""
    banner = json.loads((Path(emulator.state_dir) / "server.json").read_text()) if (
        Path(emulator.state_dir) / "server.json").exists() else None
    if banner and "pid" in banner:
        return int(banner["pid"])
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "hdm_infra.sfemu" in cmd and str(emulator.state_dir) in cmd:
            return p.pid
    raise RuntimeError("emulator process not found")


if __name__ == "__main__":
    sys.exit(main())
