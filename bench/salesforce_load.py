"""Benchmark: the Salesforce loader on the Bulk API 2.0 path, against the project's emulator (a subprocess,
TLS on 127.0.0.1), through the real simple-salesforce client.

Figures, each beside a baseline measured in the same run:
- API calls per 1,000 records per phase (target <= 1), beside a plain ``sf.bulk2.<Obj>.insert`` of the
  same prepared CSVs (counted by the emulator);
- load wall time per phase, beside that plain bulk2 insert (target <= 1.5x);
- peak Python memory of one comments load chunk at two chunk sizes, beside the size of the chunk's rows.

    .venv/bin/python bench/salesforce_load.py [--tickets 10000] [--comments-per-ticket 3] [--chunk 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
from hdm.destinations.salesforce.bulk_csv import build_csv
from hdm.destinations.salesforce.chunk import payload_of
from hdm.model import Agent, Contact, Message, MessageKind, Organization, Provenance, Team, Ticket, Visibility
from hdm_infra.sfemu import client as sfemu_client
from hdm_infra.sfemu import server as sfemu_server

MIG = "bench"
POLL = 0.05


def dataset(n_tickets: int, per_ticket: int) -> dict[str, list]:
    def p(obj: str, i: int) -> Provenance:
        return Provenance("osticket", obj, str(i))

    n_orgs, n_contacts = max(1, n_tickets // 20), max(1, n_tickets // 4)
    data: dict[str, list] = {
        "agent": [Agent(p("staff", 1), first_name="Ann", last_name="Agent", email="ann@helpdesk.test")],
        "team": [Team(p("department", 1), name="Support", members=["agent:1"])],
        "organization": [Organization(p("organization", i), name=f"Org {i}", website=f"https://o{i}.test")
                         for i in range(1, n_orgs + 1)],
        "contact": [Contact(p("user", i), name=f"User {i}", email=f"user{i}@example.test",
                            organization=f"organization:{(i % n_orgs) + 1}") for i in range(1, n_contacts + 1)],
        "ticket": [], "message": [],
    }
    for t in range(1, n_tickets + 1):
        data["ticket"].append(Ticket(p("ticket", t), number=str(100000 + t), subject=f"Ticket {t}", status="Open",
                                     status_state="open", priority="normal",
                                     requester=f"contact:{(t % n_contacts) + 1}", assignee="agent:1",
                                     queue="team:1", created_at="2023-05-01T10:00:00Z"))
        for m in range(per_ticket):
            data["message"].append(Message(
                p("thread_entry", t * 100 + m), ticket=f"ticket:{t}", position=m,
                kind=MessageKind.CUSTOMER if m % 2 == 0 else MessageKind.AGENT,
                visibility=Visibility.INTERNAL if m == 2 else Visibility.PUBLIC, author_name="Someone",
                created_at="2023-05-01T10:00:00Z", body_format="text",
                body_text=f"Message {m} of ticket {t}: the printer is still on fire. " * 4))
    return data


def chunked(rows: list, size: int) -> list[list]:
    return [rows[i: i + size] for i in range(0, len(rows), size)]


def counted(admin: sfemu_client.AdminClient) -> int:
    return int(admin.counters()["total"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--comments-per-ticket", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=10_000, help="rows per load chunk (Bulk job)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hdm-bench-sf-"))
    running = sfemu_server.start_subprocess(tmp / "emu")
    figures = []
    try:
        admin = sfemu_client.AdminClient(running)
        admin.reset(users=[{"Username": "ann@x.sf", "Email": "ann@helpdesk.test", "LastName": "Agent",
                            "Alias": "ann"}])
        sf = sfemu_client.connect(running)
        dest = SalesforceDestination(lambda: sfemu_client.connect(running), options=SalesforceOptions(
            bulk_threshold=2000, bulk_poll_seconds=POLL))
        dest.prepare({})
        crosswalk = SqliteCrosswalk(tmp / "crosswalk.sqlite")
        crosswalk_seconds = [0.0]
        put_many = crosswalk.put_many

        def timed_put_many(entries):  # instrumentation only: how much of our time is the crosswalk adapter
            t = time.perf_counter()
            put_many(entries)
            crosswalk_seconds[0] += time.perf_counter() - t

        crosswalk.put_many = timed_put_many
        t0 = time.perf_counter()
        data = dataset(args.tickets, args.comments_per_ticket)
        phase_rows: dict[str, list] = {}
        for object_type, records in data.items():
            for phase, rows in dest.transform(object_type, records).items():
                phase_rows.setdefault(phase, []).extend(rows)
        print(f"dataset: {args.tickets} tickets, {len(phase_rows['comments'])} comment rows, "
              f"{len(phase_rows['contacts'])} contacts, {len(phase_rows['accounts'])} accounts "
              f"(built and transformed in {time.perf_counter() - t0:.1f}s); chunk {args.chunk} rows")
        bulk_phases = {"accounts": "Account", "contacts": "Contact", "cases": "Case", "comments": "CaseComment"}
        for phase in dest.phases():
            rows = phase_rows.get(phase.name, [])
            if not rows:
                continue
            before_calls = counted(admin)
            crosswalk_seconds[0] = 0.0
            start = time.perf_counter()
            for n, chunk in enumerate(chunked(rows, args.chunk)):
                dest.load_chunk(phase.name, f"{phase.name}-{n}", chunk, crosswalk, MIG, "run-1")
            ours_s = time.perf_counter() - start
            cw_s = crosswalk_seconds[0]
            ours_calls = counted(admin) - before_calls
            if phase.name not in bulk_phases:
                continue
            # baseline: the same prepared rows as CSV, plain simple-salesforce bulk2 insert, same chunking
            sobject = bulk_phases[phase.name]
            payloads = [payload_of(r) for r in rows]
            for p in payloads:  # fresh unique keys so the inserts do not collide with the loaded records
                for k in ("hdm_Legacy_Id__c", "hdm_Merge_Key__c"):
                    if p.get(k):
                        p[k] = "b:" + p[k]
            columns = sorted({k for p in payloads for k in p})
            files = []
            for n, chunk in enumerate(chunked(payloads, args.chunk)):
                path = tmp / f"{phase.name}-{n}.csv"
                path.write_text(build_csv(chunk, columns), encoding="utf-8")
                files.append(path)
            before_calls = counted(admin)
            start = time.perf_counter()
            failed = 0
            for path in files:
                for job in getattr(sf.bulk2, sobject).insert(csv_file=str(path), wait=POLL):
                    failed += job["numberRecordsFailed"]
            base_s = time.perf_counter() - start
            base_calls = counted(admin) - before_calls
            per_k = ours_calls * 1000 / len(rows)
            base_per_k = base_calls * 1000 / len(rows)
            print(f"{phase.name:9s} {len(rows):7d} rows | API calls/1k: ours {per_k:6.3f}  plain bulk2 insert "
                  f"{base_per_k:6.3f} | wall: ours {ours_s:7.2f}s (of which crosswalk writes {cw_s:5.2f}s)  plain "
                  f"{base_s:7.2f}s  ratio {ours_s / base_s:5.2f}"
                  + (f" | baseline rows failed {failed}" if failed else ""))
            figures.append({"name": f"api_calls_per_1k_{phase.name}", "value": round(per_k, 4),
                            "baseline": round(base_per_k, 4), "ratio": round(per_k / base_per_k, 3)})
            figures.append({"name": f"wall_seconds_{phase.name}", "value": round(ours_s, 3),
                            "baseline": round(base_s, 3), "ratio": round(ours_s / base_s, 3),
                            "crosswalk_write_seconds": round(cw_s, 3)})
        # peak memory of one comments load chunk at two sizes (fresh keys: every row is really written)
        comments = phase_rows["comments"]
        for size in (min(2000, len(comments)), min(args.chunk, len(comments))):
            chunk = [dict(r, _source_key=f"mem{size}:{r['_source_key']}",
                          CommentBody=r["CommentBody"].replace("ref ", f"ref mem{size} ", 1)) for r in comments[:size]]
            tracemalloc.start()
            rows_copy = json.loads(json.dumps(chunk))
            rows_bytes = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            dest.load_chunk("comments", f"mem-{size}", rows_copy, crosswalk, MIG, "run-mem")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"comments chunk of {size:6d} rows: peak Python memory while loading {peak / 2**20:7.1f} MiB, "
                  f"beside the rows themselves {rows_bytes / 2**20:6.1f} MiB (ratio {peak / rows_bytes:4.2f})")
            figures.append({"name": f"peak_mib_comments_chunk_{size}", "value": round(peak / 2**20, 2),
                            "baseline": round(rows_bytes / 2**20, 2), "ratio": round(peak / rows_bytes, 3)})
        total = args.tickets
        print(f"scale: {total} tickets measured; the 100k-ticket / ~1M-comment goal is extrapolated from the "
              "per-1k figures (calls grow with the number of chunks, not rows)")
    finally:
        running.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.exit(main())
