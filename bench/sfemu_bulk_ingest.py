"""Bulk API 2.0 ingest rate of the Salesforce emulator, driven by unmodified simple-salesforce.

Figure: records/s for 100,000 Case rows through `sf.bulk2.Case.insert(csv_file=...)` (create job, PUT CSV,
UploadComplete, poll, and the server-side processing), measured end to end over TLS on 127.0.0.1.
Baseline (same run): the emulator's storage layer alone, `Org.insert` of the same rows already parsed into
dicts, in process (no HTTP, no CSV) - the floor the HTTP/Bulk machinery adds to. Also printed: CSV parsing alone.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from hdm_infra.sfemu.client import AdminClient, connect
from hdm_infra.sfemu.org import Org, WriteOptions
from hdm_infra.sfemu.server import serve_in_thread

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def make_csv(path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["Legacy_Id__c", "Subject", "Description", "Status", "Priority", "Origin"])
        for i in range(ROWS):
            writer.writerow([f"T-{i}", f"Ticket {i}: printer does not print",
                             f"Customer reports issue #{i}. " * 4, "New" if i % 3 else "Closed",
                             ("High", "Medium", "Low")[i % 3], "Email"])


def add_legacy_field(sf) -> None:
    sf.restful("tooling/sobjects/CustomField", method="POST", json={
        "FullName": "Case.Legacy_Id__c",
        "Metadata": {"type": "Text", "label": "Legacy Id", "length": 40, "externalId": True, "unique": True}})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "cases.csv"
        make_csv(data)
        text = data.read_text()

        started = time.perf_counter()
        parsed = list(csv.DictReader(io.StringIO(text)))
        parse_s = time.perf_counter() - started

        org = Org(root / "direct")
        running = serve_in_thread(root / "served")
        try:
            sf = connect(running)
            add_legacy_field(sf)
            # the same custom field on the direct org, created the same way (Tooling API describe entry)
            org.add_custom_field("Case", running.emulator.org.schema.objects["Case"].fields["Legacy_Id__c"].raw)

            started = time.perf_counter()
            direct = org.insert("Case", parsed, WriteOptions(from_csv=True, auto_assign=False))
            direct_s = time.perf_counter() - started
            assert all(r.success for r in direct), "storage baseline rejected rows"

            AdminClient(running).clear_counters()
            started = time.perf_counter()
            result = sf.bulk2.Case.insert(csv_file=str(data), wait=0)
            bulk_s = time.perf_counter() - started
            counters = AdminClient(running).counters()
            server_ms = sum(int(sf.bulk2.Case._client.get_job(r["job_id"], False)["totalProcessingTime"])
                            for r in result)
        finally:
            running.stop()
    processed = sum(r["numberRecordsProcessed"] for r in result)
    failed = sum(r["numberRecordsFailed"] for r in result)
    assert processed == ROWS and failed == 0, result
    bulk_rate = ROWS / bulk_s
    direct_rate = ROWS / direct_s
    parse_rate = ROWS / parse_s
    print(f"rows: {ROWS}")
    print(f"bulk2 insert via simple-salesforce (end to end): {bulk_rate:,.0f} records/s ({bulk_s:.2f} s)")
    print(f"baseline: storage layer Org.insert, same rows:   {direct_rate:,.0f} records/s ({direct_s:.2f} s)")
    print(f"server-side job processing (totalProcessingTime): {ROWS / (server_ms / 1000):,.0f} records/s "
          f"({server_ms / 1000:.2f} s)")
    print(f"reference: csv.DictReader parse alone:           {parse_rate:,.0f} records/s ({parse_s:.3f} s)")
    print(f"ratio bulk2/storage: {bulk_rate / direct_rate:.2f}")
    print(f"API calls for the job: {counters['total']} ({json.dumps(counters['families'])})")
    print(json.dumps({"name": "sfemu_bulk2_ingest_records_per_s", "value": round(bulk_rate),
                      "baseline": round(direct_rate), "ratio": round(bulk_rate / direct_rate, 3)}))


if __name__ == "__main__":
    main()
