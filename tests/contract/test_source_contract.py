"""The source contract: what every source does, run once per source provider (hdm_infra/providers/<name>.py).

discover counts every object type; the plan is chunks with opaque plain-JSON cursors, unique ids, the same on
every call; extracting every chunk once yields exactly the fixture's inventory (nothing missing, nothing twice,
every key unique); a chunk extracted again, or after an interrupted attempt, yields the same records, and a
killed extraction resumes through the pipeline; a hostile value is flagged, never a crash or a drop; attachment
bytes are staged under their sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from hdm.model import record_from_dict
from hdm.pipeline import steps
from hdm.sources.base import ChunkSpec
from hdm.stage.local import LocalStage
from hdm_infra.providers import build_source


def _extract_all(fixture, tmp_dir) -> dict[str, Any]:
    stage = LocalStage(tmp_dir / "stage")
    source = build_source(fixture, tmp_dir / "secrets", stage)
    try:
        discovery = source.discover()
        plan = source.plan(fixture.chunk_rows)
        by_chunk = {c.chunk_id: list(source.extract(c, stage)) for c in plan}
    finally:
        source.close()
    return {"stage": stage, "discovery": discovery, "plan": plan, "by_chunk": by_chunk,
            "records": [r for recs in by_chunk.values() for r in recs]}


# (source, test) -> why the source does not meet this promise yet. Each entry is a strict xfail: when the source
# is fixed the test passes, xfail(strict) fails, and the entry must go.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _known_gap(request, fixture) -> None:
    reason = KNOWN_GAPS.get((fixture.source_type, request.node.originalname))
    if reason:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


def _dump(records) -> list[str]:
    return sorted(json.dumps(r.to_dict(), sort_keys=True, default=str) for r in records)


@pytest.fixture(scope="module")
def fixture(source_provider, resources):
    return source_provider.fixture(resources)


@pytest.fixture(scope="module")
def inventory(fixture):
    return fixture.inventory()


@pytest.fixture(scope="module")
def extracted(fixture, resources):
    return _extract_all(fixture, resources.tmp_dir("extract"))


@pytest.fixture
def open_source(fixture, tmp_path):
    opened = []

    def make(stage=None):  # a source that reads a staged export reads it from the stage it is given
        stage = stage if stage is not None else LocalStage(tmp_path / f"stage-{len(opened)}")
        opened.append(build_source(fixture, tmp_path / "secrets", stage))
        return opened[-1]

    yield make
    for source in opened:
        source.close()


# -- discover ---------------------------------------------------------------------------------------

def test_discover_counts_every_object_type_of_the_inventory(fixture, inventory, extracted, request):
    _known_gap(request, fixture)
    discovery = extracted["discovery"]
    assert discovery.system == fixture.source_type
    assert all(isinstance(n, int) and n >= 0 for n in discovery.counts.values()), discovery.counts
    assert {t: discovery.counts.get(t) for t in inventory.counts} == inventory.counts
    planned = {c.object_type for c in extracted["plan"]}
    assert planned <= set(discovery.counts), "a planned object type that discovery does not count"


# -- plan -------------------------------------------------------------------------------------------

def test_the_plan_is_chunks_with_plain_json_cursors_and_unique_ids(extracted, inventory):
    plan = extracted["plan"]
    assert plan and all(isinstance(c, ChunkSpec) for c in plan)
    ids = Counter(c.chunk_id for c in plan)
    assert [i for i, n in ids.items() if n > 1] == []
    for chunk in plan:
        item = json.loads(json.dumps(chunk.to_dict()))  # staged as JSON for the Distributed Map
        assert ChunkSpec.from_dict(item) == chunk
        assert isinstance(chunk.cursor.get("kind"), str)
    per_type = Counter(c.object_type for c in plan)
    assert max(per_type.values()) > 1, "with a small chunk size some object type must take several chunks"
    assert {t for t, n in inventory.counts.items() if n} <= set(per_type), "an inventory type is never planned"


def test_the_plan_is_the_same_on_every_call(extracted, fixture, open_source):
    source = open_source()
    first = [c.to_dict() for c in source.plan(fixture.chunk_rows)]
    assert first == [c.to_dict() for c in source.plan(fixture.chunk_rows)]
    assert first == [c.to_dict() for c in extracted["plan"]], "another instance planned differently"


# -- extract ----------------------------------------------------------------------------------------

def test_every_record_is_extracted_exactly_once(extracted, inventory):
    records = extracted["records"]
    twice = [k for k, n in Counter(r.key for r in records).items() if n > 1]
    assert twice == [], f"records extracted more than once (or two records with one key): {twice[:10]}"
    got = Counter(r.OBJECT.value for r in records)
    assert {t: got.get(t, 0) for t in inventory.counts} == inventory.counts
    keys = defaultdict(set)
    for r in records:
        keys[r.OBJECT.value].add(r.key)
    for object_type, expected in inventory.keys.items():
        assert keys[object_type] == expected, (object_type, sorted(keys[object_type] ^ expected)[:10])


def test_discovery_counts_what_extraction_yields(extracted, fixture, request):
    _known_gap(request, fixture)
    got = Counter(r.OBJECT.value for r in extracted["records"])
    planned = {c.object_type for c in extracted["plan"]}
    assert {t: got.get(t, 0) for t in planned} == {t: extracted["discovery"].counts[t] for t in planned}


def test_a_chunk_yields_records_of_its_own_object_type(extracted):
    types = {c.chunk_id: c.object_type for c in extracted["plan"]}
    wrong = {cid: sorted({r.OBJECT.value for r in recs} - {types[cid]})
             for cid, recs in extracted["by_chunk"].items() if {r.OBJECT.value for r in recs} - {types[cid]}}
    assert wrong == {}


def test_attachment_bytes_are_staged_under_their_sha256(extracted, inventory):
    stage = extracted["stage"]
    staged = [r for r in extracted["records"] if getattr(r, "blob", None)]
    if inventory.counts.get("attachment"):
        assert staged, "the fixture has attachments, none was staged"
    for att in staged:
        with stage.open_blob(att.blob) as f:
            data = f.read()
        assert hashlib.sha256(data).hexdigest() == att.sha256, att.key
        if att.size is not None:
            assert len(data) == att.size, att.key


# -- resume -----------------------------------------------------------------------------------------

def _sample(plan: list[ChunkSpec]) -> list[ChunkSpec]:
    """One chunk per object type (the largest-numbered), enough to cover every extractor."""
    last: dict[str, ChunkSpec] = {}
    for chunk in plan:
        last[chunk.object_type] = chunk
    return list(last.values())


def test_a_chunk_extracted_again_by_another_instance_gives_the_same_records(extracted, open_source):
    stage = extracted["stage"]  # a worker of the same migration: the stage the plan was made over
    source = open_source(stage)
    for chunk in _sample(extracted["plan"]):
        again = list(source.extract(ChunkSpec.from_dict(chunk.to_dict()), stage))
        assert _dump(again) == _dump(extracted["by_chunk"][chunk.chunk_id]), chunk.chunk_id


def test_an_interrupted_extraction_then_a_retry_gives_the_same_records(extracted, open_source):
    stage = extracted["stage"]
    source = open_source(stage)
    for chunk in _sample(extracted["plan"]):
        expected = extracted["by_chunk"][chunk.chunk_id]
        if not expected:
            continue
        partial = source.extract(chunk, stage)
        next(partial)
        partial.close()  # abandoned mid-chunk (a worker that gave up), on the same instance
        assert _dump(source.extract(chunk, stage)) == _dump(expected), chunk.chunk_id


class _Killed(RuntimeError):
    pass


class _KillOnce:
    """A source that dies in the middle of one chunk the first time it extracts it."""

    def __init__(self, source, victim: str):
        self.source, self.victim, self.killed = source, victim, False

    def __getattr__(self, name):
        return getattr(self.source, name)

    def extract(self, chunk, blobs=None):
        for n, record in enumerate(self.source.extract(chunk, blobs)):
            if chunk.chunk_id == self.victim and not self.killed and n == 1:
                self.killed = True
                raise _Killed(chunk.chunk_id)
            yield record


def test_a_killed_extraction_resumes_and_stages_every_record_once(extracted, fixture, inventory, open_source,
                                                                 tmp_path):
    victim = max(extracted["by_chunk"], key=lambda cid: len(extracted["by_chunk"][cid]))
    assert len(extracted["by_chunk"][victim]) > 1
    stage = LocalStage(tmp_path / "stage")
    source = _KillOnce(open_source(stage), victim)
    config = SimpleNamespace(chunk_rows=fixture.chunk_rows, max_workers=1)
    ctx = steps.Context(migration_id="contract", run_id="r1", config=config, stage=stage, crosswalk=None,
                        source=lambda: source, destination=None)
    steps.discover(ctx)
    items = stage.get_json(steps.EXTRACT_MANIFEST)
    first = {}
    for item in items:
        try:
            first[item["chunk"]["chunk_id"]] = steps.extract_chunk(ctx, item)
        except _Killed:
            pass
    assert source.killed and victim not in first
    again = {item["chunk"]["chunk_id"]: steps.extract_chunk(ctx, item) for item in items}
    assert not again[victim].get("skipped") and all(again[cid].get("skipped") for cid in first)
    records = [record_from_dict(row) for item in items
               for row in stage.read_records(steps.extract_key(ChunkSpec.from_dict(item["chunk"])))]
    assert [k for k, n in Counter(r.key for r in records).items() if n > 1] == []
    got = Counter(r.OBJECT.value for r in records)
    assert {t: got.get(t, 0) for t in inventory.counts} == inventory.counts


# -- bad input --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(source_provider, resources):
    fixture, bad = source_provider.hostile_fixture(resources)
    assert bad, "the provider wrote no hostile value"
    return fixture, bad, _extract_all(fixture, resources.tmp_dir("hostile"))


def test_a_hostile_value_is_flagged_never_a_crash_nor_a_drop(hostile):
    fixture, bad, got = hostile
    by_key = defaultdict(list)
    for r in got["records"]:
        by_key[r.key].append(r)
    for value in bad:
        found = by_key.get(value.key, [])
        assert len(found) == 1, f"{value.key} ({value.what}) extracted {len(found)} times"
        codes = {f.code for f in found[0].flags}
        assert codes, f"{value.key} ({value.what}) carries no flag"
        if value.codes:
            assert codes & value.codes, (value.key, codes)
    inventory = fixture.inventory()
    counts = Counter(r.OBJECT.value for r in got["records"])
    assert {t: counts.get(t, 0) for t in inventory.counts} == inventory.counts
