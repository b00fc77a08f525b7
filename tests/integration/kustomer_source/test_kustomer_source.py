"""The Kustomer source against the emulator, through the pipeline's own discover/extract steps into a local stage:
every seeded record staged exactly once (ids compared with the emulator's lists and admin counts), attachments'
bytes staged, notes internal, orphan KObjects flagged, records updated during extraction staged once in their
latest state, the rate limits waited out without losing a page, a killed extraction resumed from its chunks, a
delta run from the high-water mark, and the connector built from a config through the registry."""

from __future__ import annotations

import hashlib
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from hdm import registry
from hdm.http import RetryPolicy
from hdm.model import Visibility
from hdm.pipeline import steps
from hdm.sources.base import ChunkSpec
from hdm.sources.kustomer.client import KustomerApi
from hdm.sources.kustomer.source import KustomerSource
from hdm.sources.kustomer.values import iso_utc
from hdm.stage.local import LocalStage
from hdm_infra.testing.kustomeremu import read_all, seed_org

CUSTOMERS = 24
NO_LIMITS = {"rate_limit_per_minute": 1_000_000, "search_rate_limit_per_minute": 1_000_000}
FAST_RETRY = RetryPolicy(attempts=8, base=0.01, cap=0.05, total=30.0)


def make_source(org, **kw: Any) -> KustomerSource:
    api_kw = {k: kw.pop(k) for k in list(kw) if k in ("search_page_size", "page_size", "rate_share", "max_wait",
                                                      "rate_limit_per_minute", "search_rate_limit_per_minute")}
    api_kw.setdefault("rate_limit_per_minute", 1_000_000)
    api_kw.setdefault("search_rate_limit_per_minute", 1_000_000)
    api = KustomerApi(org.api_base, org.running.api_key, ca_bundle=org.running.cert_path, retry=FAST_RETRY, **api_kw)
    return KustomerSource(api, **kw)


def pipeline_ctx(stage, source_factory, chunk_rows: int = 15) -> steps.Context:
    config = SimpleNamespace(chunk_rows=chunk_rows, max_workers=2)
    return steps.Context(migration_id="m1", run_id="r1", config=config, stage=stage, crosswalk=None,
                         source=source_factory, destination=None)


def staged(stage) -> list:
    plan = stage.get_json(steps.PLAN_KEY)
    out = []
    for item in plan["chunks"]:
        chunk = ChunkSpec.from_dict(item)
        if stage.exists(steps.extract_stats_key(chunk)):
            out += steps.read_extracted(stage, chunk)
    return out


def extract_all(stage, source_factory, chunk_rows: int = 15) -> list:
    ctx = pipeline_ctx(stage, source_factory, chunk_rows)
    steps.discover(ctx)
    for item in stage.get_json(steps.EXTRACT_MANIFEST):
        steps.extract_chunk(ctx, item)
    return staged(stage)


@pytest.fixture(scope="module")
def org(kustomeremu_server):
    handle, seeded = seed_org(kustomeremu_server, CUSTOMERS, seed=5, orphans=3)
    handle.seeded = seeded
    return handle


@pytest.fixture(autouse=True)
def no_limits(org):
    org.admin.replace_knobs(NO_LIMITS)
    org.admin.reset_rate_window()


@pytest.fixture(scope="module")
def full_run(org, tmp_path_factory):
    """One full extraction of the seeded org (before any test changes it)."""
    org.admin.replace_knobs(NO_LIMITS)
    stage = LocalStage(tmp_path_factory.mktemp("kstage"))
    source = make_source(org)
    recs = extract_all(stage, lambda: source)
    http = org.session()
    lists = {name: read_all(http, org.api_base, f"/{name}") for name in (
        "customers", "companies", "conversations", "messages", "notes", "attachments", "users", "teams", "tags",
        "shortcuts", "slas", "workflows", "business-rules")}
    kobjects = [o for k in ("order", "line_item", "refund") for o in read_all(http, org.api_base, f"/klasses/{k}")]
    return SimpleNamespace(stage=stage, records=recs, lists=lists, kobjects=kobjects, source=source,
                           counts=org.admin.counts())


def ids_of(recs, object_type: str, source_object: str | None = None) -> list[str]:
    return [r.provenance.id for r in recs if r.OBJECT.value == object_type
            and (source_object is None or r.provenance.object == source_object)]


def test_every_seeded_record_is_staged_exactly_once(full_run):
    recs, lists = full_run.records, full_run.lists
    keys = Counter(r.key for r in recs)
    assert [k for k, n in keys.items() if n > 1] == []
    expect = {("contact", None): "customers", ("organization", None): "companies", ("ticket", None): "conversations",
              ("message", "message"): "messages", ("attachment", None): "attachments",
              ("agent", None): "users", ("team", None): "teams", ("tag", None): "tags",
              ("response_template", None): "shortcuts", ("sla_policy", None): "slas"}
    for (object_type, source_object), name in expect.items():
        assert sorted(ids_of(recs, object_type, source_object)) == sorted(r["id"] for r in lists[name]), name
    in_thread = [n["id"] for n in lists["notes"] if (n["relationships"].get("conversation") or {}).get("data")]
    on_customer = [n["id"] for n in lists["notes"] if n["id"] not in set(in_thread)]
    assert on_customer and sorted(ids_of(recs, "message", "note")) == sorted(in_thread)
    assert sorted(ids_of(recs, "note")) == sorted(on_customer)  # notes outside a conversation: canonical Notes
    assert all(r.subject.startswith("contact:") for r in recs if r.OBJECT.value == "note")
    events = sorted(ids_of(recs, "event"))
    assert events == sorted([f"{r['id']}.created" for r in lists["conversations"]] + [
        f"{r['id']}.closed" for r in lists["conversations"] if r["attributes"]["status"] == "done"])
    rules = sorted(ids_of(recs, "automation_rule"))
    assert rules == sorted(r["id"] for n in ("workflows", "business-rules", "slas") for r in lists[n])
    assert sorted(ids_of(recs, "custom_object_record")) == sorted(o["id"] for o in full_run.kobjects)
    assert sorted(ids_of(recs, "custom_object_type")) == ["line_item", "order", "refund"]
    counted = full_run.counts["records"]
    assert len(ids_of(recs, "contact")) == counted["customer"] == CUSTOMERS
    assert len(ids_of(recs, "message")) + len(ids_of(recs, "note")) == counted["message"] + counted["note"]
    assert len(ids_of(recs, "custom_field")) == 14  # 5 customer + 5 conversation + 3 company + 1 message attributes


def test_discovery_counts_match_what_is_staged(full_run):
    report = full_run.stage.get_json("reports/discovery.json")
    staged_counts = Counter(r.OBJECT.value for r in full_run.records)
    for object_type, n in report["counts"].items():
        assert staged_counts[object_type] == n, object_type
    assert set(report["details"]["klasses"]) == {"order", "line_item", "refund"}
    assert report["details"]["klasses"]["line_item"]["attributes"][4]["lookup"] == "custom_object_type:order"
    assert report["details"]["high_water"] and report["details"]["key_roles"]


def test_attachments_are_staged_with_their_bytes_and_notes_stay_internal(full_run, org):
    atts = [r for r in full_run.records if r.OBJECT.value == "attachment"]
    assert atts and all(a.blob and a.sha256 for a in atts)
    http = org.session()
    sample = atts[0]
    data = http.get(f"{org.api_base}/attachments/{sample.provenance.id}/download", timeout=30).content
    assert hashlib.sha256(data).hexdigest() == sample.sha256 and sample.size == len(data)
    with full_run.stage.open_read(sample.blob) as f:
        assert f.read() == data
    notes = [r for r in full_run.records if r.OBJECT.value == "message" and r.provenance.object == "note"]
    assert notes and all(n.visibility is Visibility.INTERNAL and n.direction is None for n in notes)
    note_ids = {n.key for n in notes}
    for a in atts:
        assert (a.visibility is Visibility.INTERNAL) == (a.message in note_ids)
    msgs = [r for r in full_run.records if r.OBJECT.value == "message" and r.channel == "email"
            and r.provenance.object == "message"]
    assert msgs and all(m.recipients.get("to") and all("@" in x for x in m.recipients["to"]) for m in msgs)


def test_orphan_kobjects_are_flagged_not_fatal(full_run, org):
    recs = [r for r in full_run.records if r.OBJECT.value == "custom_object_record"]
    orphans = [r for r in recs if any(f.code == "dangling_fk" for f in r.flags)]
    assert len(orphans) == org.seeded["seeded"]["orphans"] == 3
    present = {f"custom_object_record:{r.provenance.id}" for r in recs}
    for r in recs:  # every kept KObject link points at a staged KObject
        assert all(ref in present for ref in r.related if ref.startswith("custom_object_record:"))
    assert all(r.extra["missing_parents"] for r in orphans)
    linked = [r for r in recs if any(ref.startswith("custom_object_record:") for ref in r.related)]
    assert linked  # line items and refunds that have parents keep the link


def test_records_updated_during_extraction_are_staged_once_in_their_latest_state(org, tmp_path):
    org.admin.knobs(touch_every_calls=2, touch_count=2, touch_types=["customer", "conversation"], touch_seed=3)
    source = make_source(org, search_page_size=7)
    stage = LocalStage(tmp_path)
    ctx = pipeline_ctx(stage, lambda: source, chunk_rows=1000)
    steps.discover(ctx)
    for item in stage.get_json(steps.EXTRACT_MANIFEST):
        if item["chunk"]["object_type"] in ("contact", "ticket"):
            steps.extract_chunk(ctx, item)
    org.admin.knobs(touch_every_calls=0)
    recs = staged(stage)
    http = org.session()
    hw = stage.get_json("reports/discovery.json")["details"]["high_water"]
    stale = []
    for object_type, name in (("contact", "customers"), ("ticket", "conversations")):
        now = {r["id"]: r["attributes"]["updatedAt"] for r in read_all(http, org.api_base, f"/{name}")}
        got = [r for r in recs if r.OBJECT.value == object_type]
        assert sorted(r.provenance.id for r in got) == sorted(now)  # each once, none missed
        stale += [(r.updated_at, now[r.provenance.id]) for r in got
                  if r.updated_at != iso_utc(now[r.provenance.id])]
    rereads = [stage.get_json(k)["source_stats"]["reread"] for k in stage.list("extract-stats/")]
    assert sum(rereads) > 0  # the walk met records again after they moved behind its cursor: kept the latest
    # only records touched after their chunk's walk ended (by its last calls) are older than now: the delta's
    assert len(stale) <= 2 * 2 * 2, stale
    assert all(final >= hw for _, final in stale)


def test_rate_limit_exhaustion_waits_for_the_reset_and_loses_no_page(org, tmp_path):
    org.admin.knobs(search_rate_limit_per_minute=4, rate_limit_per_minute=1_000_000, window_seconds=1.0)
    org.admin.reset_rate_window()
    source = make_source(org, search_page_size=4, rate_share=1.0, max_wait=10)  # 10 pages, 4 a window
    crit = source.base_criteria("customer", None, "2100-01-01T00:00:00.000Z", None)
    found = source.fresh("customer", "customer", crit, CUSTOMERS)
    assert sorted(r["id"] for r in found) == sorted(r["id"] for r in read_all(org.session(), org.api_base,
                                                                               "/customers"))
    assert source.api.search_limiter.waits >= 1  # held until x-ratelimit-reset instead of meeting 429
    # injected 429s and 503s on searches are retried: still every record, once
    org.admin.replace_knobs({**NO_LIMITS, "faults": {"seed": 2, "rate_429": 0.3, "rate_503": 0.2,
                                                     "families": ["search_customer"]}})
    source = make_source(org, search_page_size=2)
    found = source.fresh("customer", "customer", crit, CUSTOMERS)
    assert len(found) == len({r["id"] for r in found}) == CUSTOMERS
    statuses = source.api.counters.snapshot()["POST /customers/search [customer]"]["statuses"]
    assert statuses.get("429") and statuses.get("503")
    figures = source.api.call_figures()
    assert figures["searches"] == figures["total"]  # searches counted apart (no GET was made here)


class Killed(Exception):
    pass


def test_a_killed_extraction_resumes_from_its_chunks(org, tmp_path):
    stage = LocalStage(tmp_path)
    first = make_source(org)
    ctx = pipeline_ctx(stage, lambda: first)
    steps.discover(ctx)
    items = stage.get_json(steps.EXTRACT_MANIFEST)
    target = next(i for i in items if i["chunk"]["object_type"] == "message")
    done = 0
    for item in items[: items.index(target)]:
        steps.extract_chunk(ctx, item)
        done += 1
    calls = {"n": 0}
    real = first.api.http.request

    def dying(*a, **kw):  # the worker dies in the middle of the message chunk
        calls["n"] += 1
        if calls["n"] > 3:
            raise Killed()
        return real(*a, **kw)

    first.api.http.request = dying
    with pytest.raises(Killed):
        steps.extract_chunk(ctx, target)
    assert not stage.exists(steps.extract_stats_key(ChunkSpec.from_dict(target["chunk"])))
    second = make_source(org)  # a new worker, the same staged plan
    ctx2 = pipeline_ctx(stage, lambda: second)
    results = [steps.extract_chunk(ctx2, item) for item in items]
    assert sum(1 for r in results if r.get("skipped")) == done
    recs = staged(stage)
    keys = Counter(r.key for r in recs)
    assert max(keys.values()) == 1
    assert len([r for r in recs if r.OBJECT.value in ("message", "note")]) == sum(
        org.admin.counts()["records"][t] for t in ("message", "note"))


def test_a_delta_run_reads_what_changed_since_the_high_water_mark(org, tmp_path):
    stage = LocalStage(tmp_path / "full")
    extract_all_types = make_source(org)
    ctx = pipeline_ctx(stage, lambda: extract_all_types)
    steps.discover(ctx)
    hw = stage.get_json("reports/discovery.json")["details"]["high_water"]
    http = org.session()
    customers = sorted(r["id"] for r in read_all(http, org.api_base, "/customers"))
    conversations = sorted(r["id"] for r in read_all(http, org.api_base, "/conversations"))
    org.admin.touch(type_="customer", ids=customers[:3])
    org.admin.touch(type_="conversation", ids=conversations[:2])
    delta = make_source(org, since=hw)
    dstage = LocalStage(tmp_path / "delta")
    recs = extract_all(dstage, lambda: delta)
    assert sorted(ids_of(recs, "contact")) == customers[:3]
    assert sorted(ids_of(recs, "ticket")) == conversations[:2]
    convs = {r.key for r in recs if r.OBJECT.value == "ticket"}
    msgs = [r for r in recs if r.OBJECT.value == "message"]
    assert msgs and all(m.ticket in convs for m in msgs)
    assert dstage.get_json("reports/discovery.json")["details"]["since"] == hw


def test_the_connector_is_registered_and_built_from_a_config(org, monkeypatch):
    conn = registry.source("kustomer")
    monkeypatch.setenv("HDM_TEST_KUSTOMER_KEY", org.running.api_key)
    host, port = org.api_base.removeprefix("https://").removesuffix("/v1").split(":")
    cfg = conn.config.model_validate({"type": "kustomer", "host": host, "port": int(port),
                                      "api_key": "env:HDM_TEST_KUSTOMER_KEY", "ca_bundle": str(org.running.cert_path),
                                      "rate_limit_per_minute": 100000, "search_rate_limit_per_minute": 100000})
    from hdm.engines.factories import build_source

    source = build_source(cfg)
    assert isinstance(source, KustomerSource) and org.running.api_key not in repr(source.api.http.auth)
    other_worker = build_source(cfg)  # the engines build one source per worker: the org's budget stays one
    assert other_worker.api.limiter is source.api.limiter
    assert other_worker.api.search_limiter is source.api.search_limiter
    report = conn.capability(registry.SCOPING_REPORT)(source)
    assert "line_item" in report.markdown and report.data["counts"]["contact"] == CUSTOMERS
    inventory = conn.capability(registry.INVENTORY)(source)
    assert "Escalate VIP" in inventory and "Route billing to Billing team" in inventory and "## SLAs" in inventory
    with pytest.raises(ValueError):
        conn.config.model_validate({"type": "kustomer", "api_key": org.running.api_key})  # a literal key: refused
    delta = build_source(conn.config.model_validate({**cfg.model_dump(), "since": "2023-06-15T14:00:00+02:00"}))
    assert delta.since == "2023-06-15T12:00:00Z"
    with pytest.raises(ValueError):  # a delta's mark without a time zone is ambiguous
        conn.config.model_validate({**cfg.model_dump(), "since": "2023-06-15T12:00:00"})


def test_a_key_without_some_roles_is_scoped_then_refused_loudly(org):
    from hdm.sources.kustomer.errors import KustomerAuthFailed

    roles = [r for r in org.admin.keys()["all_roles"] if r not in ("org.permission.klass.read",
                                                                   "org.permission.note.read")]
    token = org.admin.create_key("partial", roles)
    api = KustomerApi(org.api_base, token, ca_bundle=org.running.cert_path, retry=FAST_RETRY,
                      rate_limit_per_minute=1_000_000, search_rate_limit_per_minute=1_000_000)
    source = KustomerSource(api)
    found = source.discover()
    assert {"/klasses", "search note"} <= set(found.details["unreadable"])
    assert found.counts["contact"] == CUSTOMERS and "note" not in found.counts
    with pytest.raises(KustomerAuthFailed):  # planning never drops what the key may not read
        source.plan(100)
