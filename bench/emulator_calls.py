"""API calls per second an emulator answers over HTTPS on 127.0.0.1, through `requests.Session`s.

Each emulator runs as its own process (`start_subprocess`, as in the demo), so client and server do not share a GIL.
Baseline (same run, same server): every request carries ``Connection: close``, so each call pays a TCP connect and
a full TLS handshake - what every call cost before the kit kept connections alive. After: the session's pooled
connection is reused (HTTP/1.1 keep-alive). The server counts the connections it accepted: the keep-alive run must
use one. Emulators: the kit's example (GET /api/ping), Salesforce (simple-salesforce `query`), Intercom (GET /me).

`python bench/emulator_calls.py [calls_per_mode=300] [emulators=example,sfemu,intercomemu] [threads=1]`: with
threads > 1, that many client threads (one session each) share the calls; the last line is JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from hdm_infra.emulators.kit import start_subprocess, trusted_session

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
WANTED = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else ["example", "sfemu", "intercomemu"]
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 1
MAX_SECONDS = 60.0  # per mode: a bound on a slow machine


def _example(base: Path) -> tuple[Any, Callable[[requests.Session], Callable[[], Any]]]:
    running = start_subprocess("hdm_infra.emulators.kit.example", base / "example")

    def caller(http: requests.Session) -> Callable[[], Any]:
        return lambda: http.get(f"{running.url}/api/ping", timeout=30).raise_for_status()

    return running, caller


def _sfemu(base: Path) -> tuple[Any, Callable[[requests.Session], Callable[[], Any]]]:
    from hdm_infra.sfemu.client import connect
    from hdm_infra.sfemu.server import start_subprocess as start_sfemu

    running = start_sfemu(base / "sfemu")

    def caller(http: requests.Session) -> Callable[[], Any]:
        sf = connect(running, session=http)
        return lambda: sf.query("SELECT Id FROM Case LIMIT 1")

    return running, caller


def _intercomemu(base: Path) -> tuple[Any, Callable[[requests.Session], Callable[[], Any]]]:
    from hdm_infra.intercomemu.server import start_subprocess as start_intercom

    running = start_intercom(base / "intercomemu")

    def caller(http: requests.Session) -> Callable[[], Any]:
        http.headers.update({"Authorization": f"Bearer {running.access_token}", "Intercom-Version": "2.16",
                             "Accept": "application/json"})
        return lambda: http.get(f"{running.url}/me", timeout=30).raise_for_status()

    return running, caller


EMULATORS = {"example": _example, "sfemu": _sfemu, "intercomemu": _intercomemu}


def _run(running: Any, caller: Callable[[requests.Session], Callable[[], Any]], close: bool, calls: int,
         start_at: float) -> int:
    with trusted_session(running) as http:
        if close:
            http.headers["Connection"] = "close"
        call = caller(http)
        call()  # warm up (imports, first handshake)
        while time.perf_counter() < start_at:
            time.sleep(0.001)
        done = 0
        while done < calls and time.perf_counter() - start_at < MAX_SECONDS:
            call()
            done += 1
        return done


def measure(running: Any, caller: Callable[[requests.Session], Callable[[], Any]], close: bool) -> float:
    """Calls/s over all client threads (each with its own session and share of the calls)."""
    start_at = time.perf_counter() + 2.0  # every thread warmed up before the clock starts
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(_run, running, caller, close, CALLS // THREADS, start_at) for _ in range(THREADS)]
        done = sum(future.result() for future in futures)
    return done / (time.perf_counter() - start_at)


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="emulator-calls-") as tmp:
        for name in WANTED:
            running, caller = EMULATORS[name](Path(tmp))
            try:
                close = measure(running, caller, close=True)
                keep = measure(running, caller, close=False)
            finally:
                running.stop()
            results[name] = {"close_calls_per_s": round(close, 1), "keepalive_calls_per_s": round(keep, 1),
                             "speedup": round(keep / close, 2)}
            print(f"{name:12s} connection: close {close:7.1f} calls/s   keep-alive {keep:7.1f} calls/s   "
                  f"x{keep / close:.2f}", flush=True)
    print(json.dumps({"bench": "emulator_calls", "calls_per_mode": CALLS, "client_threads": THREADS,
                      "results": results}))


if __name__ == "__main__":
    main()
