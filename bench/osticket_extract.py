"""Benchmark: osTicket extraction throughput and per-chunk memory.

1. Throughput of ticket and message chunks (rows/s into staged canonical chunks, gzip JSONL in a temp dir) against
   the mysql command-line client reading the same rows in the same run (target ratio >= 0.25). The extractor's
   connections record every statement they run (arguments bound: chunk queries, per-chunk lookups and counts, the
   cached reference lookups); the baseline replays exactly those statements, in order, through one
   ``mysql --batch --quick`` session to /dev/null. "Rows" on both sides are the rows the server returns to those
   statements (checked equal). Also printed: extraction without staging, and pymysql's server-side cursor reading
   the same statements without decoding (the floor of any extractor on this driver).
2. Peak memory of extracting one message chunk (same chunk size) from a 10k-ticket and a 100k-ticket database,
   each measured in a fresh subprocess (tracemalloc peak and ru_maxrss; target within 1.2x).

Run: ``.venv/bin/python bench/osticket_extract.py [--small] [--repeat N]`` (``--small`` uses 2k/20k tickets; each
throughput side runs N times, default 3, interleaved, and its best time counts).
Uses a private MariaDB (``HDM_BENCH_MARIADB_DIR`` to reuse one). Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

CHUNK_ROWS = 1000
OBJECT_TYPES = ("ticket", "message")
RO_USER = "bench_ro"


def log(msg: str) -> None:
    print(msg, flush=True)


def prepare(server, tickets: int, password: str) -> dict:
    from hdm_infra.osticket.generator import GeneratorOptions, generate

    name = f"bench_osticket_{tickets}"
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        exists = cur.fetchone()[0] > 0
    if exists:
        with server.connect(database=name) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM ost_ticket")
            exists = cur.fetchone()[0] == tickets
    if not exists:
        started = time.monotonic()
        server.drop_database(name)
        server.create_osticket_database(name)
        with server.connect(database=name) as conn:
            generate(conn, GeneratorOptions(tickets=tickets, seed=3, files_dir=Path(tempfile.mkdtemp())))
        log(f"generated {tickets:,} tickets in {time.monotonic() - started:.1f}s")
    user = f"{RO_USER}_{tickets}"
    server.create_user(user, password, name, read_only=True)
    return {"host": server.host, "port": server.port, "user": user, "password": password, "database": name}


@dataclass
class ExtractRun:
    records: int  # canonical records yielded
    source_rows: int  # rows of the chunks' own tables (the source's ChunkStats.rows_read)
    fetched_rows: int  # every row the server returned to the extractor's statements (lookups, counts included)
    seconds: float
    statements: list[str]  # every data statement the extractor ran, arguments bound, in order


def extract_to_stage(params: dict, object_type: str, stage_dir: str | None) -> ExtractRun:
    """Extract every chunk of one type (into gzip JSONL files when ``stage_dir``), recording its statements."""
    from hdm.sources.osticket import OsTicketSource
    from hdm.stage.local import LocalStage

    stage = LocalStage(stage_dir) if stage_dir else None
    records = rows = 0
    statements: list[str] = []
    with OsTicketSource(params) as src:
        chunks = [c for c in src.plan(CHUNK_ROWS) if c.object_type == object_type]
        src.record_statements(statements)
        fetched_before = src.rows_fetched
        started = time.perf_counter()
        for chunk in chunks:
            if stage is not None:
                records += stage.write_records(f"extract/{object_type}/{chunk.chunk_id}.jsonl.gz",
                                               (r.to_dict() for r in src.extract(chunk)))
            else:
                records += sum(1 for _ in src.extract(chunk))
            rows += sum(src.last_stats.rows_read.values())
        seconds = time.perf_counter() - started
        return ExtractRun(records, rows, src.rows_fetched - fetched_before, seconds, statements)


# the session the extractor's connections run in (raw bytes out, UTC, osTicket's sql_mode), so the server does the
# same work for the mysql client
SESSION_SQL = "SET SESSION character_set_results = NULL, time_zone = '+00:00', sql_mode = '';\n"


def mysql_baseline(params: dict, statements: list[str]) -> tuple[int, float]:
    """Rows and seconds for ``mysql --batch --quick`` running ``statements`` (one client, one connection, in
    order) to /dev/null. Rows are counted in a separate untimed run (batch mode writes one line per row).
    Credentials go in a 0600 option file, never on the command line."""
    work = tempfile.mkdtemp(prefix="hdm_bench_sql_")
    cnf, script = os.path.join(work, "client.cnf"), os.path.join(work, "statements.sql")
    with open(cnf, "w") as fh:
        fh.write(f"[client]\nuser={params['user']}\npassword={params['password']}\nhost={params['host']}\n"
                 f"port={params['port']}\n")
    os.chmod(cnf, 0o600)
    with open(script, "w", encoding="utf-8") as fh:
        fh.write(SESSION_SQL)
        for sql in statements:
            fh.write(sql.rstrip().rstrip(";") + ";\n")
    base = ["mysql", f"--defaults-extra-file={cnf}", "--batch", "--quick", "--skip-column-names", params["database"]]
    try:
        with open(script, "rb") as sql_in:
            out = subprocess.run(base, stdin=sql_in, check=True, capture_output=True, timeout=600).stdout
        rows = out.count(b"\n")
        del out
        with open(script, "rb") as sql_in, open(os.devnull, "wb") as null:
            started = time.perf_counter()
            subprocess.run(base, stdin=sql_in, stdout=null, check=True, timeout=600)
            seconds = time.perf_counter() - started
        return rows, seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)


def driver_only(params: dict, statements: list[str]) -> tuple[int, float]:
    """Rows and seconds for pymysql's server-side cursor reading the same statements, rows left undecoded: the
    floor any Python extractor on this driver stands on."""
    import pymysql
    import pymysql.cursors

    conn = pymysql.connect(host=params["host"], port=int(params["port"]), user=params["user"],
                           password=params["password"], database=params["database"], use_unicode=False)
    rows = 0
    try:
        with conn.cursor() as cur:
            cur.execute(SESSION_SQL.strip().rstrip(";"))
        started = time.perf_counter()
        for sql in statements:
            cur = conn.cursor(pymysql.cursors.SSCursor)
            cur.execute(sql)
            while batch := cur.fetchmany(2000):
                rows += len(batch)
            cur.close()
        return rows, time.perf_counter() - started
    finally:
        conn.close()


def measure_chunk_memory(params: dict) -> dict:
    """(In a subprocess) extract the middle message chunk to a gzip file; peak Python heap and max RSS."""
    from hdm.sources.osticket import OsTicketSource
    from hdm.stage.local import LocalStage

    with OsTicketSource(params) as src:
        chunks = [c for c in src.plan(CHUNK_ROWS) if c.object_type == "message"]
        chunk = chunks[len(chunks) // 2]
        stage = LocalStage(tempfile.mkdtemp())
        tracemalloc.start()
        n = stage.write_records("extract/message/x.jsonl.gz", (r.to_dict() for r in src.extract(chunk)))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"records": n, "tracemalloc_peak": peak, "maxrss_bytes": _peak_rss()}


def _peak_rss() -> int:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's peak inherited across fork)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_in_subprocess(params: dict) -> dict:
    env = dict(os.environ, HDM_BENCH_PARAMS=json.dumps(params))
    out = subprocess.run([sys.executable, __file__, "--measure-chunk"], env=env, check=True, capture_output=True,
                         text=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="2k/20k tickets instead of 10k/100k")
    ap.add_argument("--repeat", type=int, default=3, help="runs per side; each side's best time counts (default 3)")
    ap.add_argument("--measure-chunk", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_chunk:
        print(json.dumps(measure_chunk_memory(json.loads(os.environ["HDM_BENCH_PARAMS"]))))
        return 0

    from hdm_infra.mariadb import MariaDB

    shared = os.environ.get("HDM_BENCH_MARIADB_DIR")
    base_dir = shared or tempfile.mkdtemp(prefix="hdm_bench_mariadb_")
    server = MariaDB.start(base_dir)
    small, large = (2_000, 20_000) if args.small else (10_000, 100_000)
    password = secrets.token_urlsafe(16)
    results = []
    try:
        p_small = prepare(server, small, password)
        p_large = prepare(server, large, password)
        stage_dir = tempfile.mkdtemp(prefix="hdm_bench_stage_")
        for object_type in OBJECT_TYPES:
            # each side runs args.repeat times, interleaved, and keeps its best time (the machine is shared)
            staged = bare = None
            base_secs = drv_secs = float("inf")
            for _ in range(args.repeat):
                run = extract_to_stage(p_large, object_type, stage_dir)
                staged = run if staged is None or run.seconds < staged.seconds else staged
                run = extract_to_stage(p_large, object_type, None)
                bare = run if bare is None or run.seconds < bare.seconds else bare
                base_rows, secs = mysql_baseline(p_large, staged.statements)
                base_secs = min(base_secs, secs)
                drv_rows, secs = driver_only(p_large, staged.statements)
                drv_secs = min(drv_secs, secs)
            if base_rows != staged.fetched_rows or drv_rows != staged.fetched_rows:
                log(f"WARNING: {object_type}: the extractor fetched {staged.fetched_rows:,} rows, the mysql client "
                    f"{base_rows:,} and the driver {drv_rows:,} for the same statements")
            rows = staged.fetched_rows
            ours, theirs = rows / staged.seconds, rows / base_secs
            bare_rate, drv_rate = bare.fetched_rows / bare.seconds, drv_rows / drv_secs
            ratio = ours / theirs
            log(f"{object_type:8} {len(staged.statements)} statements returning {rows:,} rows "
                f"({staged.source_rows:,} source rows -> {staged.records:,} records)")
            log(f"         extract+stage {staged.seconds:6.2f}s = {ours:9,.0f} rows/s  | baseline mysql --batch "
                f"--quick (same statements) {base_secs:5.2f}s = {theirs:9,.0f} rows/s  | ratio {ratio:.3f} "
                "(target >= 0.25)")
            log(f"         extract only  {bare.seconds:6.2f}s = {bare_rate:9,.0f} rows/s  (ratio "
                f"{bare_rate / theirs:.3f})  | pymysql SSCursor, undecoded: {drv_secs:5.2f}s = {drv_rate:9,.0f} rows/s "
                f"(ratio {drv_rate / theirs:.3f})")
            results.append({"name": f"osticket_extract_{object_type}_rows_per_s", "value": round(ours),
                            "baseline": round(theirs), "ratio": round(ratio, 3)})
            results.append({"name": f"osticket_extract_{object_type}_unstaged_rows_per_s", "value": round(bare_rate),
                            "baseline": round(theirs), "ratio": round(bare_rate / theirs, 3)})
            results.append({"name": f"osticket_pymysql_undecoded_{object_type}_rows_per_s", "value": round(drv_rate),
                            "baseline": round(theirs), "ratio": round(drv_rate / theirs, 3)})
        mem_small = memory_in_subprocess(p_small)
        mem_large = memory_in_subprocess(p_large)
        ratio = mem_large["tracemalloc_peak"] / mem_small["tracemalloc_peak"]
        log(f"message chunk of {CHUNK_ROWS} tickets: peak heap {mem_large['tracemalloc_peak'] / 2**20:.1f} MiB at "
            f"{large:,} tickets ({mem_large['records']} records) vs {mem_small['tracemalloc_peak'] / 2**20:.1f} MiB at "
            f"{small:,} tickets ({mem_small['records']} records) | ratio {ratio:.2f} (target <= 1.2); max RSS "
            f"{mem_large['maxrss_bytes'] / 2**20:.0f} vs {mem_small['maxrss_bytes'] / 2**20:.0f} MiB")
        results.append({"name": "osticket_message_chunk_peak_heap_bytes", "value": mem_large["tracemalloc_peak"],
                        "baseline": mem_small["tracemalloc_peak"], "ratio": round(ratio, 3)})
        rss_ratio = mem_large["maxrss_bytes"] / mem_small["maxrss_bytes"]
        results.append({"name": "osticket_message_chunk_max_rss_bytes", "value": mem_large["maxrss_bytes"],
                        "baseline": mem_small["maxrss_bytes"], "ratio": round(rss_ratio, 3)})
    finally:
        if not shared:
            server.stop()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
