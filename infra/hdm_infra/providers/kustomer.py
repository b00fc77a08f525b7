"""The Kustomer provider: seeded orgs on the Kustomer emulator (``hdm_infra.kustomeremu``), one private server per
fixture. What an org holds is read from the emulator's own admin counts and GET lists (the API as any client sees
it), never through the Kustomer source's code."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdm_infra.kustomeremu.client import AdminClient, api_session
from hdm_infra.kustomeremu.generator import CUSTOM_ATTRIBUTES
from hdm_infra.kustomeremu.server import RunningKustomer, serve_in_thread
from hdm_infra.providers import BadValue, Inventory, Resources, SecretRef, SourceFixture, SourceProvider

SIZES = {"contract": (6, 5), "rehearsal": (20, 11), "parity": (12, 23)}  # (customers, seed)
NO_LIMITS = {"rate_limit_per_minute": 1_000_000, "search_rate_limit_per_minute": 1_000_000}
_SERVERS: dict[str, RunningKustomer] = {}
AT = "2023-03-01T10:00:00.000Z"


def _server(resources: Resources, label: str) -> RunningKustomer:
    """One emulator per fixture, for the whole process. Its state lives in a private folder of its own (not the
    caller's temporary folders, which pytest may remove before the server's last write at exit)."""
    if label not in _SERVERS:
        state = Path(tempfile.mkdtemp(prefix=f"hdm-kustomeremu-{label}-"))
        atexit.register(shutil.rmtree, state, True)
        running = serve_in_thread(state)
        atexit.register(running.stop)  # runs first (last registered)
        _SERVERS[label] = running
    return _SERVERS[label]


def _read_all(running: RunningKustomer, path: str) -> list[dict[str, Any]]:
    http = api_session(running)
    origin = running.api_base.removesuffix("/v1")
    out: list[dict[str, Any]] = []
    url: str | None = f"{running.api_base}{path}?pageSize=100"
    for _ in range(10_000):
        if url is None:
            return out
        body = http.get(url, timeout=30)
        body.raise_for_status()
        data = body.json()
        out += data["data"]
        url = f"{origin}{data['links']['next']}" if data["links"]["next"] else None
    raise RuntimeError(f"{path}: too many pages")


@dataclass
class KustomerFixture(SourceFixture):
    running: RunningKustomer
    label: str = ""
    chunk_rows: int = 5
    source_type: str = "kustomer"
    counts: dict[str, Any] = field(default_factory=dict)

    def config_section(self, secret_ref: SecretRef) -> dict[str, Any]:
        host, _, port = self.running.api_base.removeprefix("https://").removesuffix("/v1").rpartition(":")
        return {"type": "kustomer", "host": host, "port": int(port),
                "api_key": secret_ref("kustomer-api-key", self.running.api_key),
                "ca_bundle": str(self.running.cert_path), "rate_limit_per_minute": 100_000,
                "search_rate_limit_per_minute": 100_000}

    def inventory(self) -> Inventory:
        lists = {name: _read_all(self.running, f"/{name}") for name in (
            "customers", "companies", "conversations", "messages", "notes", "attachments", "users", "teams", "tags",
            "shortcuts", "slas", "workflows", "business-rules", "klasses")}
        kobjects = [o for k in lists["klasses"] for o in _read_all(self.running, f"/klasses/{k['attributes']['name']}")]

        def in_thread(note: dict[str, Any]) -> bool:
            return bool(((note.get("relationships") or {}).get("conversation") or {}).get("data"))

        keys = {
            "contact": {f"contact:{r['id']}" for r in lists["customers"]},
            "organization": {f"organization:{r['id']}" for r in lists["companies"]},
            "ticket": {f"ticket:{r['id']}" for r in lists["conversations"]},
            "message": {f"message:{r['id']}" for r in lists["messages"]}
            | {f"message:{r['id']}" for r in lists["notes"] if in_thread(r)},
            "note": {f"note:{r['id']}" for r in lists["notes"] if not in_thread(r)},
            "attachment": {f"attachment:{r['id']}" for r in lists["attachments"]},
            "agent": {f"agent:{r['id']}" for r in lists["users"]},
            "team": {f"team:{r['id']}" for r in lists["teams"]},
            "tag": {f"tag:{r['id']}" for r in lists["tags"]},
            "response_template": {f"response_template:{r['id']}" for r in lists["shortcuts"]},
            "sla_policy": {f"sla_policy:{r['id']}" for r in lists["slas"]},
            "automation_rule": {f"automation_rule:{r['id']}" for n in ("workflows", "business-rules", "slas")
                                for r in lists[n]},
            "custom_object_type": {f"custom_object_type:{k['attributes']['name']}" for k in lists["klasses"]},
            "custom_object_record": {f"custom_object_record:{o['id']}" for o in kobjects},
        }
        # the conversation's lifecycle events: created, and closed when it is done with an endedAt
        keys["event"] = {f"event:{r['id']}.created" for r in lists["conversations"]} | {
            f"event:{r['id']}.closed" for r in lists["conversations"]
            if r["attributes"].get("status") == "done" and r["attributes"].get("endedAt")}
        counts = {t: len(v) for t, v in keys.items()}
        counts["custom_field"] = sum(len(p) for p in CUSTOM_ATTRIBUTES.values())
        return Inventory(counts=counts, keys=keys)

    def people_in_destination(self) -> list[str]:
        return sorted(u["attributes"]["email"] for u in _read_all(self.running, "/users")
                      if u["attributes"].get("userType") != "machine" and u["attributes"].get("email"))


def _rel(type_: str, id_: str) -> dict[str, Any]:
    return {"data": {"type": type_, "id": id_}}


class KustomerProvider(SourceProvider):
    name = "kustomer"

    def _seed(self, resources: Resources, label: str, customers: int, seed: int, **kw: Any) -> KustomerFixture:
        running = _server(resources, label)
        admin = AdminClient(running)
        admin.reset(knobs=NO_LIMITS)
        seeded = admin.seed(customers=customers, seed=seed, **kw)
        return KustomerFixture(running, label=f"kustomer-{label}", counts=seeded["counts"])

    def fixture(self, resources: Resources, size: str = "contract") -> KustomerFixture:
        customers, seed = SIZES[size]
        label = f"{size}-{customers}c"
        if label in _SERVERS:
            return KustomerFixture(_SERVERS[label], label=f"kustomer-{label}")
        return self._seed(resources, label, customers, seed)

    def hostile_fixture(self, resources: Resources) -> tuple[KustomerFixture, list[BadValue]]:
        """Values real data may hold: lone strings where lists are due, a number where an id is, an unknown status,
        a message with no readable recipient and no timestamp, a KObject whose lookup is a number."""
        fixture = self._seed(resources, "hostile", 4, 9, orphans=0)
        running = fixture.running
        c, v, m, k = (f"ffff0000000000000000c00{i}" for i in range(1, 5))
        refund = next(x for x in _read_all(running, "/klasses") if x["attributes"]["name"] == "refund")
        AdminClient(running).put_records([
            {"type": "customer", "id": c, "attributes": {
                "name": None, "emails": "odd@mail.example", "tags": "vip", "createdAt": AT, "updatedAt": AT,
                "custom": {"lifetimeValueNum": "lots", "vipBool": "maybe"}}},
            {"type": "conversation", "id": v, "attributes": {
                "name": 42, "status": "archived", "priority": "urgent", "channels": "email", "createdAt": AT,
                "updatedAt": AT, "custom": "not an object"}, "relationships": {"customer": _rel("customer", c)}},
            {"type": "message", "id": m, "attributes": {
                "direction": None, "channel": "email", "meta": {"to": 42}, "createdAt": "not a date",
                "updatedAt": AT}, "relationships": {"conversation": _rel("conversation", v)}},
            {"type": "kobject", "id": k, "attributes": {
                "title": None, "custom": {"lineItemIdStr": 12345, "amountNum": "NaN"}, "createdAt": AT,
                "updatedAt": AT}, "relationships": {"klass": _rel("klass", refund["id"])}},
        ])
        return fixture, [
            BadValue(f"contact:{c}", "emails is a lone string, a number is 'lots', a boolean is 'maybe'",
                     frozenset({"lossy_value"})),
            BadValue(f"ticket:{v}", "status 'archived', priority 'urgent', custom attributes not an object",
                     frozenset({"unknown_status", "lossy_value"})),
            BadValue(f"message:{m}", "no direction, meta.to is a number, createdAt is not a date",
                     frozenset({"lossy_value", "bad_timestamp"})),
            BadValue(f"custom_object_record:{k}", "its lookup to a line item is a number that names no record",
                     frozenset({"dangling_fk"})),
        ]


SOURCE = KustomerProvider()
