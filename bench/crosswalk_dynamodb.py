"""Crosswalk lookups on DynamoDB (moto): the adapter's BatchGetItem path against one Query per source key.

Load resolves parent references a chunk at a time (e.g. 1,000 CaseComments → their Cases). The adapter
asks for full keys in batches of 100 (destination objects from a small per-migration registry); the
baseline is the obvious alternative, one Query per source key on the table's partition key. Request
counts are what DynamoDB bills and throttles; the times are moto's and only indicative (moto's Query
scans the whole table, so its per-request cost grows with the table; the request ratio is the real figure).

Run: .venv/bin/python bench/crosswalk_dynamodb.py
"""

from __future__ import annotations

import json
import os
import time

for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                    "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ[name] = value

import boto3  # noqa: E402
from boto3.dynamodb.conditions import Key  # noqa: E402
from hdm.crosswalk.base import CrosswalkEntry, State  # noqa: E402
from hdm.crosswalk.dynamodb import DynamoDBCrosswalk, table_definition  # noqa: E402
from moto import mock_aws  # noqa: E402

ENTRIES = 3_000
LOOKUP = 1_000
ROUNDS = 3


class Counter:
    def __init__(self, client) -> None:
        self.calls: dict[str, int] = {}
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model, **_kwargs) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1


def main() -> None:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        resource.meta.client.create_table(**table_definition("xw"))
        xw = DynamoDBCrosswalk("xw", resource=resource)
        xw.put_many(CrosswalkEntry("m-1", f"ticket:{i}", "Case", "cases", "r1", State.LOADED, dest_id=f"500{i:012d}")
                    for i in range(ENTRIES))
        keys = [f"ticket:{i}" for i in range(0, ENTRIES, ENTRIES // LOOKUP)][:LOOKUP]
        counter = Counter(resource.meta.client)

        def adapter() -> int:
            return len(xw.resolve("m-1", keys))

        def per_key_query() -> int:
            table = resource.Table("xw")
            found = 0
            for k in keys:
                items = table.query(KeyConditionExpression=Key("pk").eq(f"m-1|{k}"), ConsistentRead=True)["Items"]
                found += any(i.get("state") == "loaded" and i.get("dest_id") for i in items)
            return found

        results = {}
        for label, fn, rounds in (("batch_get", adapter, ROUNDS), ("query_per_key", per_key_query, 1)):
            counter.calls.clear()
            best = float("inf")
            for _ in range(rounds):
                started = time.perf_counter()
                found = fn()
                best = min(best, time.perf_counter() - started)
            assert found == LOOKUP, (label, found)
            results[label] = (best, sum(counter.calls.values()) // rounds)

    (t_new, r_new), (t_base, r_base) = results["batch_get"], results["query_per_key"]
    print(f"resolve {LOOKUP} keys: BatchGetItem path {t_new * 1000:.1f} ms, {r_new} requests")
    print(f"         baseline one Query per key {t_base * 1000:.1f} ms, {r_base} requests")
    print(json.dumps([
        {"name": "crosswalk_dynamodb_resolve_1000_ms_moto", "value": round(t_new * 1000, 1),
         "baseline": round(t_base * 1000, 1), "ratio": round(t_new / t_base, 3)},
        {"name": "crosswalk_dynamodb_resolve_1000_requests", "value": r_new, "baseline": r_base,
         "ratio": round(r_new / r_base, 4)},
    ]))


if __name__ == "__main__":
    main()
