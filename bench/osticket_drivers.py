"""Benchmark: which MySQL driver can read osTicket chunks at >= 0.5 of the ``mysql`` client per worker?

Issue 18 item 1. The extractor (as it is) extracts every ticket and message chunk once, recording every data
statement it runs (arguments bound). Then, in ONE run, each candidate replays exactly those statements and reads
every row, each beside the ``mysql --batch --quick`` client replaying the same statements to /dev/null:

* ``extractor``: the current extractor (``OsTicketSource.extract``, no staging) - its fast path reads pymysql's
  private socket internals;
* ``extractor-no-socket``: the extractor without its socket-buffer reader (pymysql frames packets; the row
  parser still replaces pymysql's row reader, a private hook);
* ``extractor-public``: the same extractor with that private fast path switched off (pymysql's public
  ``SSCursor.fetchmany`` plus the module's per-row decoding): what the current design gives without internals;
* ``pymysql-ss``: pymysql's public unbuffered ``SSCursor``, raw byte tuples, rows not decoded (its floor);
* ``pymysql-ss-text``: the same with ``use_unicode`` (the driver decodes text);
* ``mysql-connector-c``: mysql-connector-python's C extension (``use_pure=False``), unbuffered raw cursor, text
  decoded in Python per text column;
* ``mysqlclient-ss``: mysqlclient (``MySQLdb``, C) ``SSCursor`` with text decoded by the driver;
* ``asyncmy-ss``: asyncmy's (Cython) unbuffered ``SSCursor`` under ``asyncio.run``.

A candidate whose package is not installed is reported as missing. "Workers": with 2, the statements are split in
two halves (key-range chunks) and two processes replay one half each at the same time (the mysql baseline too);
rate = all rows / wall time. Each side runs ``--repeat`` times, interleaved, and keeps its best time.

Measured 2026-12-03 (10k tickets, repeat 3, a 2-core machine shared with other work: expect +-40% between runs),
ratio to the mysql client, tickets / messages: one worker: extractor 0.37 / 0.26, extractor-no-socket 0.32 / 0.35,
extractor-public 0.27 / 0.27, pymysql-ss 0.74 / 0.43, pymysql-ss-text 0.51 / 0.47, mysql-connector-c 0.94 / 0.81,
mysqlclient-ss 1.74 / 0.76, asyncmy-ss 1.41 / 1.09; two workers: pymysql-ss 0.43 / 0.63, mysql-connector-c
1.37 / 1.39, mysqlclient-ss 1.33 / 1.34, asyncmy-ss 1.54 / 1.35. The extractor's own work beyond reading rows caps
it at <= 0.74 / 0.64 even with a driver that cost nothing. Deployability in the Lambda layer (scripts/check-layer.py
installs with ``--platform manylinux2014_x86_64 --only-binary=:all:``): mysqlclient has no Linux wheels at all (sdist
only, needs libmariadb-dev to build): not deployable; mariadb (Connector/Python 1.1) likewise, its 2.0 is a
pre-release; mysql-connector-python's C extension is in manylinux_2_28 wheels only (manylinux2014 gets the pure
Python wheel), and it needs its bundled OpenSSL 3.2, which clashes with the system OpenSSL 3.0 once Python's ssl is
imported first (it then fails to load); asyncmy ships manylinux2014 wheels and installs with those flags.

Run: ``.venv/bin/python bench/osticket_drivers.py [--tickets N] [--repeat N] [--workers 1,2]``.
Uses a private MariaDB (``HDM_BENCH_MARIADB_DIR`` to reuse one). Ends with one line of JSON.
"""

from __future__ import annotations

try:  # before ssl: the C extension needs its bundled OpenSSL 3.2, and the system's 3.0 wins once ssl is loaded
    import _mysql_connector  # noqa: F401
except ImportError:
    pass

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from osticket_extract import CHUNK_ROWS, SESSION_SQL, extract_to_stage, prepare  # noqa: E402

OBJECT_TYPES = ("ticket", "message")
SESSION = SESSION_SQL.strip().rstrip(";")
SESSION_TEXT = "SET SESSION time_zone = '+00:00', sql_mode = ''"  # drivers that decode text themselves


def log(msg: str) -> None:
    print(msg, flush=True)


# -- candidates: each reads every row of every statement and returns the row count ---------------------------


def run_extractor(params: dict, object_type: str, mode: str) -> float:
    """Seconds for extracting every chunk of ``object_type`` (connecting and planning not counted). ``mode``:
    "fast" as shipped; "no-socket" without the socket-buffer reader (pymysql frames the packets, the row parser
    still hooks its row reader); "public" with neither (pymysql's fetchmany and the module's per-row decoding)."""
    from hdm.sources.osticket import OsTicketSource
    from hdm.sources.osticket import connection as oc

    original = oc.RowParser.__dict__["for_result"], oc.RowStream.__dict__["for_result"]
    if mode == "public":
        oc.RowParser.for_result = classmethod(lambda cls, result, codec_of: None)
    if mode == "no-socket":
        oc.RowStream.for_result = classmethod(lambda cls, conn, result, parser: None)
    try:
        with OsTicketSource(params) as src:
            chunks = [c for c in src.plan(CHUNK_ROWS) if c.object_type == object_type]
            started = time.perf_counter()
            for chunk in chunks:
                for _ in src.extract(chunk):
                    pass
            return time.perf_counter() - started
    finally:
        oc.RowParser.for_result, oc.RowStream.for_result = original


def run_pymysql(params: dict, statements: list[str], text: bool) -> int:
    import pymysql
    import pymysql.cursors

    conn = pymysql.connect(host=params["host"], port=int(params["port"]), user=params["user"],
                           password=params["password"], database=params["database"], use_unicode=text,
                           charset="utf8mb4")
    rows = 0
    try:
        with conn.cursor() as cur:
            cur.execute(SESSION_TEXT if text else SESSION)
        for sql in statements:
            cur = conn.cursor(pymysql.cursors.SSCursor)
            cur.execute(sql)
            while batch := cur.fetchmany(2000):
                rows += len(batch)
            cur.close()
    finally:
        conn.close()
    return rows


def run_connector_c(params: dict, statements: list[str]) -> int:
    import mysql.connector
    from mysql.connector.constants import FieldType

    conn = mysql.connector.connect(host=params["host"], port=int(params["port"]), user=params["user"],
                                   password=params["password"], database=params["database"], use_pure=False,
                                   charset="utf8mb4", autocommit=True)
    text_types = {FieldType.VAR_STRING, FieldType.STRING, FieldType.BLOB, FieldType.VARCHAR}
    rows = 0
    try:
        cur = conn.cursor()
        cur.execute(SESSION)
        cur.close()
        for sql in statements:
            cur = conn.cursor(raw=True, buffered=False)
            cur.execute(sql)
            texts = [i for i, d in enumerate(cur.description) if d[1] in text_types]
            while batch := cur.fetchmany(2000):
                for r in batch:
                    for i in texts:
                        v = r[i]
                        if v is not None:
                            try:
                                v.decode("utf-8")
                            except UnicodeDecodeError:
                                v.decode("utf-8", "replace")
                rows += len(batch)
            cur.close()
    finally:
        conn.close()
    return rows


def run_mysqlclient(params: dict, statements: list[str]) -> int:
    import MySQLdb
    import MySQLdb.cursors

    conn = MySQLdb.connect(host=params["host"], port=int(params["port"]), user=params["user"],
                           password=params["password"], database=params["database"], charset="utf8mb4")
    rows = 0
    try:
        cur = conn.cursor()
        cur.execute(SESSION_TEXT)
        cur.close()
        for sql in statements:
            cur = conn.cursor(MySQLdb.cursors.SSCursor)
            cur.execute(sql)
            while batch := cur.fetchmany(2000):
                rows += len(batch)
            cur.close()
    finally:
        conn.close()
    return rows


def run_asyncmy(params: dict, statements: list[str]) -> int:
    import asyncmy
    import asyncmy.cursors

    async def go() -> int:
        conn = await asyncmy.connect(host=params["host"], port=int(params["port"]), user=params["user"],
                                     password=params["password"], database=params["database"], charset="utf8mb4")
        rows = 0
        try:
            async with conn.cursor() as cur:
                await cur.execute(SESSION_TEXT)
            for sql in statements:
                cur = conn.cursor(asyncmy.cursors.SSCursor)
                await cur.execute(sql)
                while batch := await cur.fetchmany(2000):
                    rows += len(batch)
                await cur.close()
        finally:
            conn.close()
        return rows

    return asyncio.run(go())


def run_mysql(params: dict, statements: list[str], work: str) -> int:
    """``mysql --batch --quick`` over the statements to /dev/null (rows are counted elsewhere)."""
    cnf, script = os.path.join(work, "client.cnf"), os.path.join(work, f"s{os.getpid()}_{id(statements)}.sql")
    with open(script, "w", encoding="utf-8") as fh:
        fh.write(SESSION_SQL)
        for sql in statements:
            fh.write(sql.rstrip().rstrip(";") + ";\n")
    with open(script, "rb") as sql_in, open(os.devnull, "wb") as null:
        subprocess.run(["mysql", f"--defaults-extra-file={cnf}", "--batch", "--quick", "--skip-column-names",
                        params["database"]], stdin=sql_in, stdout=null, check=True, timeout=900)
    return -1


CANDIDATES = {  # name -> (module that must be importable, runner(params, statements, object_type, work))
    "mysql --batch --quick": (None, lambda p, s, t, w: run_mysql(p, s, w)),
    "extractor": ("pymysql", lambda p, s, t, w: run_extractor(p, t, "fast")),
    "extractor-no-socket": ("pymysql", lambda p, s, t, w: run_extractor(p, t, "no-socket")),
    "extractor-public": ("pymysql", lambda p, s, t, w: run_extractor(p, t, "public")),
    "pymysql-ss": ("pymysql", lambda p, s, t, w: run_pymysql(p, s, text=False)),
    "pymysql-ss-text": ("pymysql", lambda p, s, t, w: run_pymysql(p, s, text=True)),
    "mysql-connector-c": ("mysql.connector", lambda p, s, t, w: run_connector_c(p, s)),
    "mysqlclient-ss": ("MySQLdb", lambda p, s, t, w: run_mysqlclient(p, s)),
    "asyncmy-ss": ("asyncmy", lambda p, s, t, w: run_asyncmy(p, s)),
}
# these re-plan the chunks themselves and time only the extraction: one worker only
WHOLE_TYPE = {"extractor", "extractor-no-socket", "extractor-public"}


def _worker(args: tuple) -> int:
    name, params, statements, object_type, work = args
    return CANDIDATES[name][1](params, statements, object_type, work)


def timed(name: str, params: dict, statements: list[str], object_type: str, workers: int, work: str) -> float:
    if name in WHOLE_TYPE:  # times itself
        return _worker((name, params, statements, object_type, work))
    if workers == 1:
        started = time.perf_counter()
        _worker((name, params, statements, object_type, work))
        return time.perf_counter() - started
    half = (len(statements) + 1) // 2
    parts = [statements[:half], statements[half:]]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        started = time.perf_counter()
        pool.map(_worker, [(name, params, part, object_type, work) for part in parts])
        return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--only", default="", help="comma-separated candidate names (default: every installed one)")
    args = ap.parse_args()
    from hdm_infra.mariadb import MariaDB

    names = [n for n in CANDIDATES if not args.only or n in args.only.split(",") or n.startswith("mysql ")]
    missing = [n for n in names if CANDIDATES[n][0] and importlib.util.find_spec(CANDIDATES[n][0]) is None]
    for n in missing:
        log(f"candidate {n}: not installed ({CANDIDATES[n][0]}), skipped")
    names = [n for n in names if n not in missing]
    worker_counts = [int(w) for w in args.workers.split(",")]

    shared = os.environ.get("HDM_BENCH_MARIADB_DIR")
    server = MariaDB.start(shared or tempfile.mkdtemp(prefix="hdm_bench_mariadb_"))
    work = tempfile.mkdtemp(prefix="hdm_bench_drv_")
    results = []
    try:
        params = prepare(server, args.tickets, secrets.token_urlsafe(16))
        with open(os.path.join(work, "client.cnf"), "w") as fh:
            fh.write(f"[client]\nuser={params['user']}\npassword={params['password']}\nhost={params['host']}\n"
                     f"port={params['port']}\n")
        os.chmod(os.path.join(work, "client.cnf"), 0o600)
        for object_type in OBJECT_TYPES:
            run = extract_to_stage(params, object_type, None)
            statements, rows = run.statements, run.fetched_rows
            check = run_pymysql(params, statements, text=False)
            if check != rows:
                log(f"WARNING: {object_type}: extractor fetched {rows:,} rows, a replay {check:,}")
            log(f"{object_type}: {len(statements)} statements returning {rows:,} rows ({args.tickets:,} tickets)")
            for workers in worker_counts:
                best = {n: float("inf") for n in names if workers == 1 or n not in WHOLE_TYPE}
                for _ in range(args.repeat):
                    for n in best:
                        best[n] = min(best[n], timed(n, params, statements, object_type, workers, work))
                base = rows / best["mysql --batch --quick"]
                for n, secs in best.items():
                    rate = rows / secs
                    log(f"  workers={workers} {n:22} {secs:6.2f}s {rate:10,.0f} rows/s  ratio {rate / base:5.3f}"
                        + ("  (baseline)" if n.startswith("mysql ") else ""))
                    if not n.startswith("mysql "):
                        results.append({"name": f"osticket_{object_type}_{n}_w{workers}_rows_per_s",
                                        "value": round(rate), "baseline": round(base),
                                        "ratio": round(rate / base, 3)})
                if workers == 1 and "extractor" in best and "pymysql-ss" in best:
                    # the extractor's own work beyond reading rows (at least its time less pymysql's bare read):
                    # the ratio it could reach with a driver that cost nothing
                    own = max(best["extractor"] - best["pymysql-ss"], 1e-9)
                    ceiling = (rows / own) / base
                    log(f"  extractor work beyond reading rows >= {own:.2f}s: with a free driver its ratio would be "
                        f"<= {ceiling:.3f}")
                    results.append({"name": f"osticket_{object_type}_extractor_ceiling_free_driver_ratio",
                                    "value": round(ceiling, 3), "baseline": 1.0, "ratio": round(ceiling, 3)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not shared:
            server.stop()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
