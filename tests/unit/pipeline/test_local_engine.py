"""The local engine's orchestration, over plug-ins defined here (pure logic: no I/O beyond tmp_path).

The real source and destination are exercised end to end in tests/e2e; these tests pin the
pipeline's own promises: every record is accounted for, re-runs continue, rollback restores.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import pytest
from hdm.crosswalk.base import CrosswalkEntry, Origin, State
from hdm.destinations.base import ChunkLoadResult, LoadPhase, RecordOutcome
from hdm.engines.local import LocalEngine
from hdm.model import Contact, Organization, Provenance, Tag
from hdm.pipeline.config import MigrationConfig
from hdm.sources.base import ChunkSpec, Discovery, KeyRange


class ListSource:
    system = "list"

    def __init__(self, orgs: int, contacts: int, fail_on: set[str] | None = None):
        self.orgs, self.contacts = orgs, contacts

    def discover(self) -> Discovery:
        return Discovery("list", "1", {"organization": self.orgs, "contact": self.contacts, "tag": 1})

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        out = []
        for t, n in (("organization", self.orgs), ("contact", self.contacts), ("tag", 1)):
            for lo in range(1, n + 1, chunk_rows):
                out.append(ChunkSpec.key_range(t, lo, min(lo + chunk_rows - 1, n)))
        return out

    def extract(self, chunk: ChunkSpec, blobs=None):
        keys = chunk.cursor_as(KeyRange)
        for i in range(keys.lo, keys.hi + 1):
            prov = Provenance("list", chunk.object_type, str(i))
            if chunk.object_type == "organization":
                yield Organization(prov, name=f"Org {i}")
            elif chunk.object_type == "contact":
                yield Contact(prov, name=f"C {i}", email=f"c{i}@example.com", organization=f"organization:{i % 3 + 1}")
            else:
                yield Tag(prov, name="vip")

    def close(self) -> None:
        pass


class MemoryDestination:
    """Stores rows in a dict; rejects contacts whose number is divisible by 7; fails once when told."""

    name = "memory"
    ids = itertools.count(1)

    def __init__(self, store: dict, fail_once: dict | None = None):
        self.store = store
        self.fail_once = fail_once if fail_once is not None else {}

    def phases(self):
        return [LoadPhase("accounts", ("Account",), ("organization",)),
                LoadPhase("contacts", ("Contact",), ("contact",))]

    def transform(self, object_type: str, records: Iterable[Any]) -> dict[str, list[dict]]:
        if object_type == "organization":
            return {"accounts": [{"_source_key": r.key, "Name": r.name} for r in records]}
        if object_type == "contact":
            return {"contacts": [{"_source_key": r.key, "Email": r.email, "Account": r.organization} for r in records]}
        return {}

    def prepare(self, context):
        return {"needs_admin": []}

    def baseline(self):
        return {"Account": sum(1 for v in self.store.values() if v[0] == "Account"),
                "Contact": sum(1 for v in self.store.values() if v[0] == "Contact")}

    def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
        if self.fail_once.pop(chunk_id, None):
            raise ConnectionError("injected failure")
        obj = "Account" if phase == "accounts" else "Contact"
        res = ChunkLoadResult(phase, chunk_id)
        existing = crosswalk.get_many(migration_id, [r["_source_key"] for r in rows])
        entries = []
        for r in rows:
            key = r["_source_key"]
            if key in existing and existing[key][0].state == State.LOADED:
                res.outcomes.append(RecordOutcome(key, obj, "unchanged", existing[key][0].dest_id))
                continue
            if obj == "Contact" and int(key.split(":")[1]) % 7 == 0:
                res.outcomes.append(
                    RecordOutcome(key, obj, "rejected", None, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "no"))
                entries.append(CrosswalkEntry(migration_id, key, obj, phase, run_id, State.REJECTED,
                                              reason="FIELD_CUSTOM_VALIDATION_EXCEPTION: no"))
                continue
            dest_id = f"{obj[:3]}{next(self.ids):06d}"
            self.store[dest_id] = (obj, r)
            res.outcomes.append(RecordOutcome(key, obj, "created", dest_id))
            entries.append(CrosswalkEntry(migration_id, key, obj, phase, run_id, State.LOADED, Origin.CREATED, dest_id))
            res.api_calls = 1
        crosswalk.put_many(entries)
        return res

    def verify_chunk(self, phase, rows, crosswalk, migration_id):
        return []

    def rollback(self, entries):
        for e in entries:
            self.store.pop(e.dest_id, None)
        return entries


def _config(**kw) -> MigrationConfig:
    base = {
        "migration_id": "unit-test",
        "source": {"type": "osticket", "database": "x", "user": "u", "password": "env:NOPE"},
        "destination": {"type": "salesforce", "username": "u", "verify_after_load": False},
        "chunk_rows": 4,
        "require_approval": True,
        "reject_threshold": 0.5,  # the memory destination rejects every 7th contact on purpose
    }
    base.update(kw)
    return MigrationConfig.model_validate(base)


def _engine(tmp_path, store, fail_once=None, orgs=5, contacts=20):
    return LocalEngine(
        _config(), workdir=tmp_path, progress=False,
        source_factory=lambda: ListSource(orgs, contacts),
        destination_factory=lambda: MemoryDestination(store, fail_once),
    )


def test_nothing_is_written_before_the_mapping_is_approved(tmp_path):
    store: dict = {}
    outcome = _engine(tmp_path, store).run()
    assert outcome.status == "awaiting_approval"
    assert store == {}


def test_every_source_record_is_accounted_for(tmp_path):
    store: dict = {}
    outcome = _engine(tmp_path, store).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    contacts = next(p for p in report["phases"] if p["phase"] == "contacts")
    assert contacts["source"] == 20
    assert contacts["loaded"] + contacts["rejected"] == 20
    assert contacts["rejected"] == 2  # 7 and 14
    assert report["source"]["per_type"]["tag"] == {"extracted": 1, "to_destination": 0, "skipped": 1,
                                                  "left_at_source": 0}
    assert any("no mapping for tag" in r["reason"] for r in report["source"]["skip_reasons"])
    assert len(store) == 5 + 18


def test_an_interrupted_run_continues_without_duplicates(tmp_path):
    store: dict = {}
    first = _engine(tmp_path, store, fail_once={"contact-0000000005-0000000008": True}).run(approve=True)
    assert first.status == "failed"
    second = _engine(tmp_path, store).run()
    assert second.status == "succeeded", second.message
    assert len(store) == 5 + 18
    third = _engine(tmp_path, store).run()
    assert third.status == "succeeded"
    assert len(store) == 5 + 18


def test_rollback_restores_the_baseline(tmp_path):
    store: dict = {"pre1": ("Account", {"Name": "existing"})}
    assert _engine(tmp_path, store).run(approve=True).status == "succeeded"
    result = _engine(tmp_path, store).rollback()
    assert result["restored"], result
    assert store == {"pre1": ("Account", {"Name": "existing"})}


def test_an_unexplained_difference_fails_the_phase(tmp_path):
    store: dict = {}

    class Forgetful(MemoryDestination):
        def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
            return super().load_chunk(phase, chunk_id, rows[:-1], crosswalk, migration_id, run_id)

    engine = LocalEngine(_config(), workdir=tmp_path, progress=False,
                         source_factory=lambda: ListSource(5, 20), destination_factory=lambda: Forgetful(store))
    outcome = engine.run(approve=True)
    assert outcome.status == "failed"
    assert "unaccounted" in outcome.message


@pytest.mark.parametrize("secret", ["hunter2", "password123"])
def test_a_literal_secret_in_config_is_refused(secret):
    with pytest.raises(Exception, match="secret reference"):
        _config(source={"type": "osticket", "database": "x", "user": "u", "password": secret})


def test_a_changed_mapping_transforms_and_loads_again(tmp_path):
    store: dict = {}

    class Versioned(MemoryDestination):
        version = "v1"

        def fingerprint(self):
            return self.version

        def transform(self, object_type, records):
            out = super().transform(object_type, records)
            for rows in out.values():
                for r in rows:
                    r["MappingVersion"] = self.version
            return out

    def engine():
        return LocalEngine(_config(), workdir=tmp_path, progress=False,
                           source_factory=lambda: ListSource(5, 20), destination_factory=lambda: Versioned(store))

    assert engine().run(approve=True).status == "succeeded"
    stage = engine().stage
    rows_key = "transform/accounts/organization-0000000001-0000000004.jsonl.gz"
    result_key = "results/accounts/organization-0000000001-0000000004.json"
    assert {r["MappingVersion"] for r in stage.read_records(rows_key)} == {"v1"}
    Versioned.version = "v2"
    refused = engine().run()  # the approval was given to v1: the load refuses v2 until it is approved (issue 16)
    assert refused.status == "failed" and "approved v1, now v2" in str(refused.error)
    engine().approve(by="test")
    second = engine().run()
    assert second.status == "succeeded"
    assert {r["MappingVersion"] for r in stage.read_records(rows_key)} == {"v2"}
    assert stage.get_json(result_key)["run_id"] == second.run_id  # the chunk was loaded again
    assert len(store) == 5 + 18  # through the crosswalk: nothing duplicated


def test_a_chunk_left_pending_is_loaded_again_on_the_next_run(tmp_path):
    store: dict = {}

    class Crashy(MemoryDestination):
        crash = True

        def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
            res = super().load_chunk(phase, chunk_id, rows, crosswalk, migration_id, run_id)
            if Crashy.crash and phase == "contacts" and chunk_id.endswith("0000000004"):
                # the write's fate is unknown: the crosswalk keeps a pending marker, the result is written
                crosswalk.put_many([CrosswalkEntry(migration_id, rows[0]["_source_key"], "Contact", phase, run_id,
                                                   State.PENDING)])
            return res

    def engine():
        return LocalEngine(_config(), workdir=tmp_path, progress=False,
                           source_factory=lambda: ListSource(5, 20), destination_factory=lambda: Crashy(store))

    first = engine().run(approve=True)
    assert first.status == "failed" and "pending" in (engine().stage.get_json(
        "reports/phases/contacts.json")["unexplained"][0]["why"])
    Crashy.crash = False
    second = engine().run()
    assert second.status == "succeeded", second.message


def test_errors_saved_in_the_state_file_are_masked(tmp_path):
    store: dict = {}

    class Leaky(MemoryDestination):
        def load_chunk(self, *args):
            raise RuntimeError("upsert failed for jane.doe@example.com")

    engine = LocalEngine(_config(), workdir=tmp_path, progress=False,
                         source_factory=lambda: ListSource(5, 20), destination_factory=lambda: Leaky(store))
    assert engine.run(approve=True).status == "failed"
    assert "jane.doe@example.com" not in (tmp_path / "unit-test" / "state.json").read_text()


def test_a_second_run_of_one_migration_is_refused_at_once_and_the_first_completes(tmp_path):
    import os
    import threading
    import time

    from hdm.engines.local import MigrationLocked

    store: dict = {}
    loading, release = threading.Event(), threading.Event()

    class Slow(MemoryDestination):
        def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
            loading.set()
            release.wait(timeout=30)
            return super().load_chunk(phase, chunk_id, rows, crosswalk, migration_id, run_id)

    first = LocalEngine(_config(max_workers=1), workdir=tmp_path, progress=False,
                        source_factory=lambda: ListSource(5, 20), destination_factory=lambda: Slow(store))
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.setdefault("first", first.run(approve=True)))
    runner.start()
    try:
        assert loading.wait(30)
        state_before = (tmp_path / "unit-test" / "state.json").read_text()
        second = _engine(tmp_path, store)  # another engine on the same folder, as a second `hdm run` would be
        started = time.monotonic()
        for attempt in (lambda: second.run(approve=True), second.rollback, second.approve):
            with pytest.raises(MigrationLocked, match=f"pid {os.getpid()}") as refused:
                attempt()
            assert "one run at a time" in str(refused.value) and "(run since" in str(refused.value)
        assert time.monotonic() - started < 2  # refused at once, never waiting for the lock
        assert (tmp_path / "unit-test" / "state.json").read_text() == state_before  # the refused run wrote nothing
    finally:
        release.set()
        runner.join(timeout=60)
    assert outcome["first"].status == "succeeded", outcome["first"].message
    # the crosswalk and the destination agree: each created entry has its record, and nothing else was written
    created = [e for e in first.crosswalk.iter_migration("unit-test")
               if e.state == State.LOADED and e.origin == Origin.CREATED]
    assert sorted(e.dest_id for e in created) == sorted(store) and len(store) == 5 + 18
    # the lock is released with the run: the next run goes ahead
    assert _engine(tmp_path, store).run().status == "succeeded" and len(store) == 5 + 18


def test_the_lock_dies_with_its_process(tmp_path):
    import subprocess
    import sys

    from hdm.engines.local import migration_lock

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from hdm.engines.local import migration_lock\n"
         "with migration_lock(sys.argv[1], 'run'):\n    print('held', flush=True); time.sleep(60)",
         str(tmp_path / "m")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        from hdm.engines.local import MigrationLocked

        with pytest.raises(MigrationLocked, match=f"pid {holder.pid}"):
            with migration_lock(tmp_path / "m", "run"):
                pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with migration_lock(tmp_path / "m", "run"):  # killed: the kernel released its lock
        pass


def test_a_plan_staged_before_cursors_existed_resumes_without_extracting_again(tmp_path):
    """An interrupted run of an earlier release staged ``lo``/``hi`` chunk items; the new code continues it:
    the same chunk ids, so finished extracts and loads are found and nothing is duplicated."""

    extracted: list[str] = []

    class CountingSource(ListSource):
        def extract(self, chunk, blobs=None):
            extracted.append(chunk.chunk_id)
            yield from super().extract(chunk, blobs)

    def engine(fail_once=None):
        return LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: CountingSource(5, 20),
                           destination_factory=lambda: MemoryDestination(store, fail_once))

    store: dict = {}
    first = engine({"contact-0000000005-0000000008": True}).run(approve=True)
    assert first.status == "failed"
    n_chunks = len(extracted)
    # rewrite the staged plan as an earlier release wrote it
    stage = engine().stage
    items = stage.get_json("manifests/extract.json")
    legacy = []
    for it in items:
        keys = ChunkSpec.from_dict(it["chunk"]).cursor_as(KeyRange)
        legacy.append({"chunk": {"object_type": it["chunk"]["object_type"], "lo": keys.lo, "hi": keys.hi,
                                 "estimated_rows": it["chunk"]["estimated_rows"]}})
    stage.put_json("manifests/extract.json", legacy)
    assert "cursor" not in json.dumps(stage.get_json("manifests/extract.json"))

    second = engine().run()
    assert second.status == "succeeded", second.message
    assert len(extracted) == n_chunks  # every chunk's extract was found finished: none read again
    assert len(store) == 5 + 18  # and none loaded twice
