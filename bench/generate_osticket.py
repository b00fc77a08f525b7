"""Benchmark: osTicket generator throughput (tickets/s) against the server's own row-copy speed.

Baseline, measured in the same run: the server copies every generated table into a fresh one
(`INSERT INTO copy SELECT * FROM table`), i.e. the cost of writing the same rows with no Python at all.
Run: .venv/bin/python bench/generate_osticket.py [tickets ...]   (default: 10000)
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from hdm_infra.mariadb import MariaDB
from hdm_infra.osticket.generator import GeneratorOptions, generate


def server_copy_seconds(server: MariaDB, database: str) -> float:
    with server.connect(database=database) as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        tables = [r[0] for r in cur.fetchall()]
        cur.execute("DROP DATABASE IF EXISTS bench_copy")
        cur.execute("CREATE DATABASE bench_copy CHARACTER SET utf8")
        for table in tables:
            cur.execute(f"CREATE TABLE bench_copy.`{table}` LIKE `{table}`")
        cur.execute("SET SESSION sql_mode=''")
        started = time.perf_counter()
        for table in tables:
            cur.execute(f"INSERT INTO bench_copy.`{table}` SELECT * FROM `{table}`")
        elapsed = time.perf_counter() - started
        cur.execute("DROP DATABASE bench_copy")
    return elapsed


def main(sizes: list[int]) -> None:
    base = Path(tempfile.mkdtemp(prefix="hdm-bench-gen-"))
    server = MariaDB.start(base / "mariadb")
    results = []
    try:
        for tickets in sizes:
            database = f"bench_gen_{tickets}"
            server.create_osticket_database(database)
            files = base / f"files_{tickets}"
            with server.connect(database=database) as conn:
                started = time.perf_counter()
                manifest = generate(conn, GeneratorOptions(tickets=tickets, seed=1, files_dir=files))
                elapsed = time.perf_counter() - started
            rows = sum(manifest.tables.values())
            copy = server_copy_seconds(server, database)
            rate, baseline = tickets / elapsed, tickets / copy
            print(f"{tickets} tickets, {rows} rows: generator {elapsed:.1f}s = {rate:.0f} tickets/s "
                  f"({rows / elapsed:.0f} rows/s); baseline server-side copy {copy:.1f}s = {baseline:.0f} tickets/s; "
                  f"ratio {rate / baseline:.2f}")
            results.append({"name": f"generate_osticket_{tickets}_tickets_per_s", "value": round(rate, 1),
                            "baseline": round(baseline, 1), "ratio": round(rate / baseline, 3)})
            server.drop_database(database)
            shutil.rmtree(files, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000])
