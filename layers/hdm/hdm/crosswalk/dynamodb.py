"""The crosswalk in DynamoDB (the AWS engine's), one table per customer stack.

Item layout (the table is defined in template.yaml, resource ``CrosswalkTable``):

- ``pk`` = ``<migration_id>|<source_key>``, ``sk`` = ``<dest_object>``: one item per destination
  record, so writes spread over as many partitions as there are source records (never one
  partition per run).
- ``gsi1pk`` = ``<migration_id>|<shard>`` (``shard`` = a hash of the source key, ``SHARDS`` of them),
  ``gsi1sk`` = ``<phase>|<state>|<source_key>|<dest_object>``: the ``by_migration`` index that
  reconciliation and rollback read per migration, per phase, per state, with writes spread over the
  shards.
- ``pk`` = ``<migration_id>|#objects``, ``sk`` = ``<object_type>``, ``dest_objects`` (a string set):
  which destination objects each source object type became. ``get_many`` needs full primary keys
  for BatchGetItem; this small registry gives the candidate sort keys. Registry items carry no index
  attributes, so the index stays sparse.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Iterator
from typing import Any, Optional

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry, State

INDEX_NAME = "by_migration"
SHARDS = 16
_REGISTRY = "#objects"
_KEY_ATTRS = ("pk", "sk", "gsi1pk", "gsi1sk")
_BATCH_GET = 100  # BatchGetItem's limit per request
_MAX_UNPROCESSED_ROUNDS = 12


class CrosswalkThrottled(RuntimeError):
    """DynamoDB kept returning unprocessed keys past the retry budget."""


def shard_of(source_key: str, shards: int = SHARDS) -> int:
    return int(hashlib.md5(source_key.encode(), usedforsecurity=False).hexdigest()[:8], 16) % shards


class DynamoDBCrosswalk(Crosswalk):
    def __init__(self, table_name: str, resource: Any = None, shards: int = SHARDS):
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self.table_name = table_name
        self._resource = resource
        self._table = resource.Table(table_name)
        self.shards = shards
        self._registered: set[tuple[str, str, str]] = set()

    # -- item mapping ---------------------------------------------------------------------------
    def _to_item(self, e: CrosswalkEntry) -> dict[str, Any]:
        item = {k: v for k, v in e.to_item().items() if v is not None}
        item["pk"] = f"{e.migration_id}|{e.source_key}"
        item["sk"] = e.dest_object
        item["gsi1pk"] = f"{e.migration_id}|{shard_of(e.source_key, self.shards):02d}"
        item["gsi1sk"] = f"{e.phase}|{e.state.value}|{e.source_key}|{e.dest_object}"
        return item

    @staticmethod
    def _from_item(item: dict[str, Any]) -> CrosswalkEntry:
        return CrosswalkEntry.from_item({k: v for k, v in item.items() if k not in _KEY_ATTRS})

    # -- the port -------------------------------------------------------------------------------
    def put_many(self, entries: Iterable[CrosswalkEntry]) -> None:
        items: dict[tuple[str, str], dict[str, Any]] = {}
        objects: set[tuple[str, str, str]] = set()
        for e in entries:
            item = self._to_item(e)
            items[(item["pk"], item["sk"])] = item  # last one wins, as INSERT OR REPLACE
            objects.add((e.migration_id, e.object_type, e.dest_object))
        if not items:
            return
        self._register(objects)  # before the entries, so a reader that sees an entry finds its object
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
            for item in items.values():
                writer.put_item(Item=item)

    def _register(self, objects: set[tuple[str, str, str]]) -> None:
        for migration_id, object_type, dest_object in sorted(objects - self._registered):
            self._table.update_item(
                Key={"pk": f"{migration_id}|{_REGISTRY}", "sk": object_type},
                UpdateExpression="ADD dest_objects :d",
                ExpressionAttributeValues={":d": {dest_object}},
            )
            self._registered.add((migration_id, object_type, dest_object))

    def _dest_objects(self, migration_id: str) -> dict[str, set[str]]:
        from boto3.dynamodb.conditions import Key

        out: dict[str, set[str]] = {}
        for item in self._query(KeyConditionExpression=Key("pk").eq(f"{migration_id}|{_REGISTRY}"),
                                ConsistentRead=True):
            out[item["sk"]] = set(item.get("dest_objects") or ())
        return out

    def get_many(self, migration_id: str, source_keys: Iterable[str]) -> dict[str, list[CrosswalkEntry]]:
        keys = list(dict.fromkeys(source_keys))
        if not keys:
            return {}
        registry = self._dest_objects(migration_id)
        wanted = [
            {"pk": f"{migration_id}|{skey}", "sk": dest_object}
            for skey in keys
            for dest_object in sorted(registry.get(skey.split(":", 1)[0], ()))
        ]
        out: dict[str, list[CrosswalkEntry]] = {}
        for i in range(0, len(wanted), _BATCH_GET):
            for item in self._batch_get(wanted[i : i + _BATCH_GET]):
                entry = self._from_item(item)
                out.setdefault(entry.source_key, []).append(entry)
        for entries in out.values():
            entries.sort(key=lambda e: e.dest_object)
        return out

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(_MAX_UNPROCESSED_ROUNDS):
            response = self._resource.meta.client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # backoff with jitter
        raise CrosswalkThrottled(f"{len(request[self.table_name]['Keys'])} key(s) still unprocessed")

    def iter_migration(
        self, migration_id: str, phase: Optional[str] = None, state: Optional[State] = None
    ) -> Iterator[CrosswalkEntry]:
        """Entries shard by shard (no global order); each shard is read lazily page by page."""
        from boto3.dynamodb.conditions import Attr, Key

        for shard in range(self.shards):
            condition = Key("gsi1pk").eq(f"{migration_id}|{shard:02d}")
            extra: dict[str, Any] = {}
            if phase is not None:
                prefix = f"{phase}|" if state is None else f"{phase}|{state.value}|"
                condition = condition & Key("gsi1sk").begins_with(prefix)
            elif state is not None:
                extra["FilterExpression"] = Attr("state").eq(state.value)
            for item in self._query(IndexName=INDEX_NAME, KeyConditionExpression=condition, **extra):
                yield self._from_item(item)

    def delete_migration(self, migration_id: str) -> int:
        from boto3.dynamodb.conditions import Key

        keys = [{"pk": f"{e.migration_id}|{e.source_key}", "sk": e.dest_object}
                for e in self.iter_migration(migration_id)]
        registry = [{"pk": item["pk"], "sk": item["sk"]} for item in self._query(
            KeyConditionExpression=Key("pk").eq(f"{migration_id}|{_REGISTRY}"))]
        with self._table.batch_writer() as writer:
            for k in keys + registry:
                writer.delete_item(Key=k)
        self._registered = {r for r in self._registered if r[0] != migration_id}
        return len(keys)

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments matching template.yaml's CrosswalkTable (for tools and tests without the template)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in _KEY_ATTRS],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": INDEX_NAME,
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                          {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    }
