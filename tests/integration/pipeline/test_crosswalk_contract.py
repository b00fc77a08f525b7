"""One behaviour, two crosswalks: SqliteCrosswalk and DynamoDBCrosswalk (moto, table from template.yaml)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from hdm.crosswalk.base import Crosswalk, CrosswalkEntry, Origin, State
from hdm.crosswalk.sqlite import SqliteCrosswalk


@pytest.fixture(params=["sqlite", "dynamodb"])
def xw(request, tmp_path) -> Crosswalk:
    if request.param == "sqlite":
        return SqliteCrosswalk(tmp_path / "crosswalk.sqlite")
    return request.getfixturevalue("dynamodb_crosswalk")


def entry(key: str, obj: str = "Case", phase: str = "cases", state: State = State.LOADED,
          origin: Origin = Origin.CREATED, mid: str = "m-1", dest_id: str | None = None, **kw) -> CrosswalkEntry:
    return CrosswalkEntry(migration_id=mid, source_key=key, dest_object=obj, phase=phase, run_id="r1",
                          state=state, origin=origin, dest_id=dest_id or f"id-{key}-{obj}", **kw)


def _ids(entries) -> list[tuple[str, str, str]]:
    return sorted((e.source_key, e.dest_object, e.state.value) for e in entries)


def test_entries_round_trip_with_every_field(xw):
    e = entry("ticket:1", content_hash="abc", reason=None)
    rejected = entry("ticket:2", state=State.REJECTED, reason="REQUIRED_FIELD_MISSING: Subject", dest_id=None)
    rejected.dest_id = None
    xw.put_many([e, rejected])
    got = xw.get("m-1", "ticket:1")
    assert got is not None and got.to_item() == e.to_item()
    got2 = xw.get("m-1", "ticket:2", "Case")
    assert got2.state == State.REJECTED and got2.reason.startswith("REQUIRED") and got2.dest_id is None


def test_put_replaces_by_migration_source_key_and_object(xw):
    xw.put_many([entry("ticket:1", state=State.PENDING, dest_id="x")])
    xw.put_many([entry("ticket:1", state=State.LOADED, dest_id="500A")])
    assert [e.state for e in xw.iter_migration("m-1")] == [State.LOADED]
    assert xw.resolve("m-1", ["ticket:1"]) == {"ticket:1": "500A"}


def test_one_source_record_may_become_several_destination_records(xw):
    xw.put_many([entry("contact:7", "Contact", "contacts"), entry("contact:7", "User", "users",
                                                                  origin=Origin.MATCHED)])
    got = xw.get_many("m-1", ["contact:7"])
    assert sorted(e.dest_object for e in got["contact:7"]) == ["Contact", "User"]


def test_get_many_with_a_thousand_keys(xw):
    xw.put_many([entry(f"message:{i}#0", "CaseComment", "comments") for i in range(1000)])
    keys = [f"message:{i}#0" for i in range(1000)] + ["message:missing#0"]
    got = xw.get_many("m-1", keys)
    assert len(got) == 1000 and "message:missing#0" not in got
    assert got["message:999#0"][0].dest_id == "id-message:999#0-CaseComment"


def test_migrations_do_not_see_each_other(xw):
    xw.put_many([entry("ticket:1", mid="m-1"), entry("ticket:1", mid="m-2", dest_id="other")])
    assert xw.resolve("m-1", ["ticket:1"]) == {"ticket:1": "id-ticket:1-Case"}
    assert xw.resolve("m-2", ["ticket:1"]) == {"ticket:1": "other"}
    assert len(list(xw.iter_migration("m-2"))) == 1


def test_only_loaded_entries_resolve(xw):
    xw.put_many([entry("ticket:1", state=State.PENDING), entry("ticket:2", state=State.REJECTED, reason="r"),
                 entry("ticket:3")])
    assert set(xw.resolve("m-1", ["ticket:1", "ticket:2", "ticket:3"])) == {"ticket:3"}


def test_iter_migration_by_phase_and_state(xw):
    xw.put_many(
        [entry(f"organization:{i}", "Account", "accounts") for i in range(30)]
        + [entry(f"ticket:{i}", "Case", "cases", state=State.REJECTED if i % 5 == 0 else State.LOADED,
                 reason="bad" if i % 5 == 0 else None) for i in range(50)]
    )
    assert len(list(xw.iter_migration("m-1"))) == 80
    assert len(list(xw.iter_migration("m-1", phase="accounts"))) == 30
    assert _ids(xw.iter_migration("m-1", phase="cases", state=State.REJECTED)) == sorted(
        (f"ticket:{i}", "Case", "rejected") for i in range(0, 50, 5))
    assert len(list(xw.iter_migration("m-1", state=State.LOADED))) == 70
    assert list(xw.iter_migration("m-1", phase="nothing")) == []


def test_counts_by_state_and_origin(xw):
    xw.put_many([entry("agent:1", "User", "users", origin=Origin.MATCHED), entry("agent:2", "User", "users"),
                 entry("ticket:1"), entry("ticket:2", state=State.REJECTED, reason="x")])
    assert xw.counts("m-1") == Counter({("loaded", "created"): 2, ("loaded", "matched"): 1,
                                        ("rejected", "created"): 1})
    assert xw.counts("m-1", phase="users") == Counter({("loaded", "created"): 1, ("loaded", "matched"): 1})


def test_concurrent_put_many_from_threads_loses_nothing(xw):
    errors = []

    def work(n: int) -> None:
        try:
            for b in range(5):
                xw.put_many([entry(f"message:{n}-{b}-{i}#0", "CaseComment", "comments") for i in range(40)])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sum(1 for _ in xw.iter_migration("m-1", phase="comments")) == 4 * 5 * 40


def test_delete_migration_forgets_only_that_migration(xw):
    xw.put_many([entry(f"ticket:{i}") for i in range(30)] + [entry("ticket:1", mid="m-2")])
    assert xw.delete_migration("m-1") == 30
    assert list(xw.iter_migration("m-1")) == [] and xw.get_many("m-1", ["ticket:1"]) == {}
    assert len(list(xw.iter_migration("m-2"))) == 1


def test_dynamodb_keys_spread_writes(dynamodb_crosswalk):
    xw = dynamodb_crosswalk
    xw.put_many([entry(f"ticket:{i}") for i in range(200)])
    items = xw._table.scan()["Items"]
    entries = [i for i in items if "gsi1pk" in i]
    assert len({i["pk"] for i in entries}) == 200  # one partition key per source record, not per run
    assert len({i["gsi1pk"] for i in entries}) == 16  # the per-migration index is sharded
    assert all(i["gsi1pk"].startswith("m-1|") for i in entries)


def test_dynamodb_fetches_keys_left_unprocessed_again(dynamodb_crosswalk, monkeypatch):
    """BatchGetItem may answer with UnprocessedKeys under load; those are asked for again, not lost."""
    xw = dynamodb_crosswalk
    xw.put_many([entry(f"ticket:{i}") for i in range(250)])
    client = xw._resource.meta.client
    real = client.batch_get_item
    calls = []

    def withholding(**kwargs):  # the real moto call, with half of each first request handed back unprocessed
        request = kwargs["RequestItems"][xw.table_name]
        calls.append(len(request["Keys"]))
        if len(calls) % 2 == 1 and len(request["Keys"]) > 1:
            half = len(request["Keys"]) // 2
            served = real(RequestItems={xw.table_name: {**request, "Keys": request["Keys"][:half]}})
            served["UnprocessedKeys"] = {xw.table_name: {**request, "Keys": request["Keys"][half:]}}
            return served
        return real(**kwargs)

    monkeypatch.setattr(client, "batch_get_item", withholding)
    monkeypatch.setattr("hdm.crosswalk.dynamodb.time.sleep", lambda s: None)
    got = xw.get_many("m-1", [f"ticket:{i}" for i in range(250)])
    assert len(got) == 250
    assert len(calls) > 3  # 3 requests of ≤100 keys, plus the retries of what was withheld


def test_dynamodb_gives_up_loudly_when_keys_stay_unprocessed(dynamodb_crosswalk, monkeypatch):
    from hdm.crosswalk.dynamodb import CrosswalkThrottled

    xw = dynamodb_crosswalk
    xw.put_many([entry("ticket:1")])
    client = xw._resource.meta.client
    monkeypatch.setattr(client, "batch_get_item", lambda **kw: {"Responses": {}, "UnprocessedKeys": kw["RequestItems"]})
    monkeypatch.setattr("hdm.crosswalk.dynamodb.time.sleep", lambda s: None)
    with pytest.raises(CrosswalkThrottled, match="unprocessed"):
        xw.get_many("m-1", ["ticket:1"])
