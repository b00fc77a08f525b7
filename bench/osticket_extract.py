"""Benchmark: osTicket extraction throughput and per-chunk memory.

1. Throughput of ticket and message chunks (rows/s into staged canonical chunks, gzip JSONL in a temp dir) against
   reading the same rows with ``mysql --batch --quick … > /dev/null`` in the same run (target ratio >= 0.25).
2. Peak memory of extracting one message chunk (same chunk size) from a 10k-ticket and a 100k-ticket database,
   each measured in a fresh subprocess (tracemalloc peak and ru_maxrss; target within 1.2x).

Run: ``.venv/bin/python bench/osticket_extract.py [--small]`` (``--small`` uses 2k/20k tickets).
Uses a private MariaDB (``HDM_BENCH_MARIADB_DIR`` to reuse one). Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

CHUNK_ROWS = 1000
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


def extract_to_stage(params: dict, object_type: str, stage_dir: str | None) -> tuple[int, int, float]:
    """Extract every chunk of one type (into gzip JSONL files when ``stage_dir``); (records, source rows, seconds)."""
    from hdm.sources.osticket import OsTicketSource
    from hdm.stage.local import LocalStage

    stage = LocalStage(stage_dir) if stage_dir else None
    records = rows = 0
    with OsTicketSource(params) as src:
        chunks = [c for c in src.plan(CHUNK_ROWS) if c.object_type == object_type]
        started = time.perf_counter()
        for chunk in chunks:
            if stage is not None:
                records += stage.write_records(f"extract/{object_type}/{chunk.chunk_id}.jsonl.gz",
                                               (r.to_dict() for r in src.extract(chunk)))
            else:
                records += sum(1 for _ in src.extract(chunk))
            rows += sum(src.last_stats.rows_read.values())
        return records, rows, time.perf_counter() - started


def mysql_baseline(params: dict, statements: list[str]) -> tuple[int, float]:
    """Rows and seconds for ``mysql --batch --quick`` reading ``statements`` to /dev/null (credentials in a 0600
    file, never on the command line)."""
    with tempfile.NamedTemporaryFile("w", suffix=".cnf", delete=False) as cnf:
        cnf.write(f"[client]\nuser={params['user']}\npassword={params['password']}\nhost={params['host']}\n"
                  f"port={params['port']}\n")
    os.chmod(cnf.name, 0o600)
    rows, seconds = 0, 0.0
    try:
        base = ["mysql", f"--defaults-extra-file={cnf.name}", "--batch", "--quick", params["database"]]
        for sql in statements:
            rows += int(subprocess.run(base + ["-N", "-e", f"SELECT COUNT(*) FROM ({sql}) x"], check=True,
                                       capture_output=True, text=True, timeout=600).stdout.strip())
            started = time.perf_counter()
            with open(os.devnull, "wb") as null:
                subprocess.run(base + ["-e", sql], check=True, stdout=null, timeout=600)
            seconds += time.perf_counter() - started
        return rows, seconds
    finally:
        os.unlink(cnf.name)


# what the extractor reads per type, as plain SELECTs for the mysql client (same rows, same joins)
BASELINE_SQL = {
    "ticket": [
        "SELECT t.*, u.id AS uid, u.org_id, o.id AS oid FROM ost_ticket t LEFT JOIN ost_user u ON u.id = t.user_id "
        "LEFT JOIN ost_organization o ON o.id = u.org_id",
        "SELECT e.object_id, e.form_id, v.* FROM ost_form_entry e JOIN ost_form_entry_values v ON v.entry_id = e.id "
        "WHERE e.object_type IN ('T', 'A')",
        "SELECT * FROM ost_task WHERE object_type = 'T'",
    ],
    "message": [
        "SELECT te.*, h.object_type, h.object_id, u.id AS uid, ue.address, s.email FROM ost_thread h "
        "JOIN ost_thread_entry te ON te.thread_id = h.id LEFT JOIN ost_user u ON u.id = te.user_id "
        "LEFT JOIN ost_user_email ue ON ue.id = u.default_email_id LEFT JOIN ost_staff s ON s.staff_id = te.staff_id "
        "WHERE h.object_type IN ('T', 'C', 'A')",
    ],
}


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
        for object_type, statements in BASELINE_SQL.items():
            n, rows, secs = extract_to_stage(p_large, object_type, stage_dir)
            _, rows_bare, secs_bare = extract_to_stage(p_large, object_type, None)
            base_rows, base_secs = mysql_baseline(p_large, statements)
            ours, bare, theirs = rows / secs, rows_bare / secs_bare, base_rows / base_secs
            ratio = ours / theirs
            log(f"{object_type:8} extract+stage: {rows:,} source rows -> {n:,} records in {secs:.2f}s = {ours:,.0f} "
                f"rows/s (extract only, no staging: {bare:,.0f} rows/s)  | baseline mysql --batch --quick: "
                f"{base_rows:,} rows in {base_secs:.2f}s = {theirs:,.0f} rows/s  | ratio {ratio:.3f} "
                f"(extract only {bare / theirs:.3f}; target >= 0.25)")
            results.append({"name": f"osticket_extract_{object_type}_rows_per_s", "value": round(ours),
                            "baseline": round(theirs), "ratio": round(ratio, 3)})
            results.append({"name": f"osticket_extract_{object_type}_unstaged_rows_per_s", "value": round(bare),
                            "baseline": round(theirs), "ratio": round(bare / theirs, 3)})
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
