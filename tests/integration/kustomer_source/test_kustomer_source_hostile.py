"""Odd and hostile values written into the emulator as real data may hold them: every such record is still
extracted, once, with a flag on what could not be read (one bad value never costs a record, never a crash)."""

from __future__ import annotations

from collections import Counter

import pytest
from hdm.http import RetryPolicy
from hdm.sources.kustomer.client import KustomerApi
from hdm.sources.kustomer.source import KustomerSource
from hdm_infra.testing.kustomeremu import seed_org

AT = "2023-03-01T10:00:00.000Z"
C, V, M, N, K = ("ffff0000000000000000c001", "ffff0000000000000000c002", "ffff0000000000000000c003",
                 "ffff0000000000000000c004", "ffff0000000000000000c005")


def _rel(type_: str, id_: str) -> dict:
    return {"data": {"type": type_, "id": id_}}


HOSTILE = [
    {"type": "customer", "id": C, "attributes": {
        "name": None, "emails": "odd@mail.example", "phones": {"phone": "+4470000"}, "tags": "vip",
        "custom": {"lifetimeValueNum": "lots", "signedUpAt": "yesterday", "vipBool": "maybe"},
        "createdAt": AT, "updatedAt": AT}},
    {"type": "conversation", "id": V, "attributes": {
        "name": 42, "status": "archived", "priority": "urgent", "channels": "email", "assignedUsers": None,
        "assignedTeams": [None, 7], "tags": ["no-such-tag"], "custom": "not an object", "messageCount": 1,
        "noteCount": 1, "createdAt": AT, "updatedAt": AT}, "relationships": {"customer": _rel("customer", C)}},
    {"type": "message", "id": M, "attributes": {
        "direction": None, "channel": "email", "body": None, "preview": None, "meta": {"to": 42, "cc": [None, {}]},
        "createdAt": "not a date", "updatedAt": AT},
     "relationships": {"conversation": _rel("conversation", V), "customer": _rel("customer", C)}},
    {"type": "note", "id": N, "attributes": {"body": 42, "createdAt": AT, "updatedAt": AT},
     "relationships": {"conversation": _rel("conversation", V)}},
]


@pytest.fixture(scope="module")
def hostile_org(kustomeremu_server):
    handle, _ = seed_org(kustomeremu_server, 6, seed=9, orphans=0)
    handle.admin.replace_knobs({"rate_limit_per_minute": 1_000_000, "search_rate_limit_per_minute": 1_000_000})
    refund_klass = next(k for k in handle.session().get(f"{handle.api_base}/klasses", timeout=30).json()["data"]
                        if k["attributes"]["name"] == "refund")
    handle.admin.put_records([*HOSTILE, {"type": "kobject", "id": K, "attributes": {
        "title": None, "custom": {"lineItemIdStr": 12345, "amountNum": "NaN"}, "createdAt": AT, "updatedAt": AT},
        "relationships": {"klass": _rel("klass", refund_klass["id"])}}])
    return handle


def test_hostile_records_are_extracted_once_and_flagged(hostile_org):
    org = hostile_org
    api = KustomerApi(org.api_base, org.running.api_key, ca_bundle=org.running.cert_path,
                      rate_limit_per_minute=1_000_000, search_rate_limit_per_minute=1_000_000,
                      retry=RetryPolicy(attempts=3, base=0.01, cap=0.02, total=10.0))
    source = KustomerSource(api)
    source.discover()
    recs = [r for chunk in source.plan(1000) for r in source.extract(chunk)]
    keys = Counter(r.key for r in recs)
    assert max(keys.values()) == 1
    by_key = {r.key: r for r in recs}
    flags = {k: {f.code for f in by_key[k].flags} for k in (f"contact:{C}", f"ticket:{V}", f"message:{M}",
                                                             f"message:{N}", f"custom_object_record:{K}")}
    assert flags[f"contact:{C}"] >= {"lossy_value", "missing_value", "dangling_fk"}
    contact = by_key[f"contact:{C}"]
    assert contact.email == "odd@mail.example" and contact.phone == "+4470000"  # a lone value is still read
    assert contact.custom["lifetimeValueNum"] == "lots"
    ticket = by_key[f"ticket:{V}"]
    assert flags[f"ticket:{V}"] >= {"unknown_status", "lossy_value", "dangling_fk"}
    assert ticket.status == "archived" and ticket.channel == "email" and ticket.assignee_group is None
    message = by_key[f"message:{M}"]
    assert flags[f"message:{M}"] >= {"lossy_value", "missing_value", "bad_timestamp"}
    assert message.ticket == f"ticket:{V}"
    assert "missing_value" in flags[f"message:{N}"]
    kobject = by_key[f"custom_object_record:{K}"]
    assert "dangling_fk" in flags[f"custom_object_record:{K}"] and kobject.extra["missing_parents"]
