"""Chunks carry an opaque cursor planned by the source (issue 11, item 2).

Pins: the typed cursors survive the JSON of a staged plan; key ranges keep the chunk ids and stage keys of
every earlier run (so a resume finds its finished chunks); a plan staged by an earlier release (``lo``/``hi``)
still loads; bad cursors are refused with a clear error; and a source over an uploaded export (staged JSONL,
``FileSlice`` cursors) extracts every line exactly once and resumes without extracting again — the seed of
the source contract suite.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hdm.model import Contact, Provenance
from hdm.pipeline import steps
from hdm.pipeline.config import MigrationConfig
from hdm.sources.base import (
    ChunkSpec,
    CursorError,
    Discovery,
    FileSlice,
    KeyRange,
    PageCursor,
    SourceBase,
    TimeWindow,
    plan_line_slices,
    put_input_file,
    read_lines,
)
from hdm.stage.local import LocalStage

# -- typed cursors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cursor", [
    KeyRange(1, 500),
    PageCursor(),
    PageCursor("eyJwYWdlIjoyfQ==", page_size=100, max_pages=50, params={"updated_since": "2024-01-01T00:00:00Z"}),
    TimeWindow("2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"),
    FileSlice("inputs/export.jsonl", 1024, 4096),
])
def test_every_cursor_kind_survives_the_staged_plan_json(cursor):
    chunk = ChunkSpec("ticket", cursor.to_dict(), 7)
    item = json.loads(json.dumps(chunk.to_dict()))  # what the Distributed Map's ItemReader hands a child
    again = ChunkSpec.from_dict(item)
    assert again == chunk
    assert again.cursor_as(type(cursor)) == cursor
    assert again.chunk_id == chunk.chunk_id and again.estimated_rows == 7
    assert len({chunk, again}) == 1  # usable in sets and as dict keys


def test_key_range_chunks_keep_the_ids_and_stage_keys_of_earlier_runs():
    chunk = ChunkSpec.key_range("thread_entry", 1, 2000, 1999)
    assert chunk.chunk_id == "thread_entry-0000000001-0000002000"
    assert steps.extract_key(chunk) == "extract/thread_entry/thread_entry-0000000001-0000002000.jsonl.gz"
    assert steps.extract_stats_key(chunk) == "extract-stats/thread_entry/thread_entry-0000000001-0000002000.json"
    assert steps.transform_stats_key(chunk) == "transform-stats/thread_entry/thread_entry-0000000001-0000002000.json"


def test_a_plan_staged_by_an_earlier_release_still_loads_as_key_ranges():
    legacy = {"object_type": "ticket", "lo": 501, "hi": 1000, "estimated_rows": 500}  # before cursors
    chunk = ChunkSpec.from_dict(legacy)
    assert chunk.cursor_as(KeyRange) == KeyRange(501, 1000)
    assert chunk.chunk_id == "ticket-0000000501-0000001000"
    assert chunk.estimated_rows == 500
    assert chunk == ChunkSpec.key_range("ticket", 501, 1000, 500)
    assert steps.extract_key(chunk) == "extract/ticket/ticket-0000000501-0000001000.jsonl.gz"


def test_other_cursor_kinds_get_stable_safe_distinct_ids():
    a = ChunkSpec("conversation", PageCursor("abc", 50).to_dict())
    b = ChunkSpec("conversation", PageCursor("abd", 50).to_dict())
    assert a.chunk_id == ChunkSpec("conversation", {"page_size": 50, "start": "abc", "kind": "page",
                                                    "max_pages": None, "params": {}}).chunk_id  # key order is moot
    assert a.chunk_id != b.chunk_id
    assert a.chunk_id.startswith("conversation-page-")
    named = ChunkSpec("conversation", PageCursor().to_dict(), chunk_id="conversation-first-page")
    assert ChunkSpec.from_dict(named.to_dict()).chunk_id == "conversation-first-page"


def test_the_cursor_is_a_private_copy():
    raw = {"kind": "custom", "pos": [1, 2]}
    chunk = ChunkSpec("note", raw)
    raw["pos"].append(3)
    assert chunk.cursor == {"kind": "custom", "pos": [1, 2]}


@pytest.mark.parametrize("item, message", [
    ({"object_type": "ticket", "estimated_rows": 3}, "neither a cursor nor lo/hi"),
    ({"lo": 1, "hi": 2}, "without 'object_type'"),
    ({"object_type": "ticket", "cursor": {"lo": 1}}, "must be a dict with a 'kind'"),
    ({"object_type": "ticket", "cursor": {"kind": "x", "when": {1, 2}}}, "plain JSON"),
    ({"object_type": "ticket", "cursor": {"kind": "x", "v": float("nan")}}, "plain JSON"),
    ({"object_type": "ticket", "cursor": {"kind": "x"}, "chunk_id": "../../etc/passwd"}, "not safe in a stage key"),
    ({"object_type": "ticket", "lo": 9, "hi": 2}, "above hi"),
])
def test_bad_chunk_items_are_refused_clearly(item, message):
    with pytest.raises(CursorError, match=message):
        ChunkSpec.from_dict(item)


def test_a_source_reading_another_cursor_kind_gets_a_clear_error():
    chunk = ChunkSpec("ticket", FileSlice("inputs/x.jsonl", 0, 10).to_dict())
    with pytest.raises(CursorError, match="expected a key_range cursor, got 'file_slice'"):
        chunk.cursor_as(KeyRange)
    with pytest.raises(CursorError, match="malformed key_range cursor"):
        ChunkSpec("ticket", {"kind": "key_range", "lo": 1})
    named = ChunkSpec("ticket", {"kind": "page", "page_size": "many"}, chunk_id="ticket-p1")
    with pytest.raises(CursorError, match="malformed page cursor"):
        named.cursor_as(PageCursor)


# -- a source over an uploaded export ----------------------------------------------------------------

LINES = [{"id": str(i), "name": f"Person {i}", "email": f"p{i}@example.com"} for i in range(1, 24)]


def _write_export(path, lines=LINES, blank_every=5, final_newline=False):
    text = []
    for i, row in enumerate(lines, 1):
        text.append(json.dumps(row, ensure_ascii=False))
        if i % blank_every == 0:
            text.append("")  # blank lines are skipped, never lost, never a chunk of their own
    path.write_text("\n".join(text) + ("\n" if final_newline else ""), encoding="utf-8")
    return path


class ExportSource(SourceBase):
    """A tiny export-file source: staged JSONL contacts, ``FileSlice`` chunks. Counts what it extracts."""

    system = "jsonl-fake"

    def __init__(self, extracted: Counter):
        self.extracted = extracted

    def stage_input(self, stage, path):
        return [put_input_file(stage, path)]

    def _inputs(self) -> list[str]:
        return self.require_stage().list("inputs/")

    def discover(self) -> Discovery:
        return Discovery(self.system, "1", {"contact": sum(n for key in self._inputs()
                                                           for _, n in plan_line_slices(self.stage, key, 10**9))})

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        return [ChunkSpec("contact", cut.to_dict(), n)
                for key in self._inputs() for cut, n in plan_line_slices(self.require_stage(), key, chunk_rows)]

    def extract(self, chunk: ChunkSpec, blobs=None):
        cut = chunk.cursor_as(FileSlice)
        for _offset, line in read_lines(self.require_stage(), cut):
            if not line.strip():
                continue
            row = json.loads(line)
            self.extracted[row["id"]] += 1
            yield Contact(Provenance(self.system, "contact", row["id"]), name=row["name"], email=row["email"])

    def close(self) -> None:
        pass


def _ctx(tmp_path, source) -> steps.Context:
    cfg = MigrationConfig.model_validate({
        "migration_id": "export-unit", "chunk_rows": 4,
        "source": {"type": "osticket", "database": "x", "user": "u", "password": "env:NOPE"},
        "destination": {"type": "salesforce", "username": "u"},
    })
    return steps.Context("export-unit", "r1", cfg, LocalStage(tmp_path / "stage"), crosswalk=None,  # type: ignore[arg-type]
                         source=lambda: source, destination=lambda: None)  # type: ignore[arg-type, return-value]


@pytest.mark.parametrize("final_newline", [True, False])
def test_an_export_source_plans_file_slices_and_extracts_every_line_exactly_once(tmp_path, final_newline):
    extracted: Counter = Counter()
    source = ExportSource(extracted)
    ctx = _ctx(tmp_path, source)
    keys = source.stage_input(ctx.stage, _write_export(tmp_path / "my export.jsonl", final_newline=final_newline))
    assert len(keys) == 1 and keys[0].startswith("inputs/") and keys[0].endswith("-my_export.jsonl")
    assert source.stage_input(ctx.stage, tmp_path / "my export.jsonl") == keys  # staged once per content

    out = steps.discover(ctx)
    items = ctx.stage.get_json(steps.EXTRACT_MANIFEST)
    assert out["chunks"] == len(items) == 6  # 23 lines, 4 a chunk
    cuts = [ChunkSpec.from_dict(it["chunk"]).cursor_as(FileSlice) for it in items]
    size = len(ctx.stage.get_bytes(keys[0]))
    assert cuts[0].offset == 0 and sum(c.length for c in cuts) == size  # the slices tile the file
    assert all(a.offset + a.length == b.offset for a, b in zip(cuts, cuts[1:], strict=False))
    assert len({ChunkSpec.from_dict(it["chunk"]).chunk_id for it in items}) == 6

    results = [steps.extract_chunk(ctx, json.loads(json.dumps(it))) for it in items]
    assert sum(r["records"] for r in results) == len(LINES)
    assert extracted == Counter({row["id"]: 1 for row in LINES})  # every line once, none twice
    staged = [r["provenance"]["id"] for it in items
              for r in ctx.stage.read_records(steps.extract_key(ChunkSpec.from_dict(it["chunk"])))]
    assert sorted(staged, key=int) == [row["id"] for row in LINES]

    # resume: a second pass over the same staged plan extracts nothing again
    again = [steps.extract_chunk(ctx, it) for it in items]
    assert all(r["skipped"] for r in again)
    assert extracted == Counter({row["id"]: 1 for row in LINES})


def test_a_changed_export_gets_new_keys_and_chunk_ids(tmp_path):
    stage = LocalStage(tmp_path / "stage")
    path = _write_export(tmp_path / "e.jsonl", LINES[:4], final_newline=True)
    first = put_input_file(stage, path)
    before = [ChunkSpec("contact", cut.to_dict()).chunk_id for cut, _ in plan_line_slices(stage, first, 2)]
    changed = [dict(row, name=row["name"].upper()) for row in LINES[:4]]  # same sizes, other bytes
    second = put_input_file(stage, _write_export(path, changed, final_newline=True))
    assert second != first and stage.exists(first)
    after = [ChunkSpec("contact", cut.to_dict()).chunk_id for cut, _ in plan_line_slices(stage, second, 2)]
    assert not set(before) & set(after)  # a resume cannot skip a new slice as finished


def test_a_slice_that_does_not_match_the_staged_file_is_an_error_not_a_silent_drop(tmp_path):
    stage = LocalStage(tmp_path / "stage")
    key = put_input_file(stage, _write_export(tmp_path / "e.jsonl", LINES[:3], final_newline=True))
    size = len(stage.get_bytes(key))
    with pytest.raises(CursorError, match="ends at"):
        list(read_lines(stage, FileSlice(key, 0, size + 10)))
    with pytest.raises(CursorError, match="does not end at a line end"):
        list(read_lines(stage, FileSlice(key, 0, 5)))
    with pytest.raises(CursorError, match="shorter than the offset"):
        list(read_lines(stage, FileSlice(key, size + 100, 1)))


def test_a_source_without_uploads_says_so(tmp_path):
    class Direct(SourceBase):
        system = "direct"

    with pytest.raises(NotImplementedError, match="the direct source .* takes no uploaded export"):
        Direct().stage_input(LocalStage(tmp_path), tmp_path / "x.jsonl")
    with pytest.raises(RuntimeError, match="no stage was attached"):
        Direct().require_stage()


def test_a_plan_with_two_chunks_of_one_id_is_refused_before_anything_is_staged(tmp_path):
    """Two chunks named alike would share one stage key: the second would be taken for done and never load."""

    class SameIds(ExportSource):
        def plan(self, chunk_rows):
            return [ChunkSpec("ticket", PageCursor(start="a").to_dict(), 10, chunk_id="ticket-page"),
                    ChunkSpec("ticket", PageCursor(start="b").to_dict(), 10, chunk_id="ticket-page")]

        def discover(self):
            return Discovery(self.system, "1", {"ticket": 20})

    ctx = _ctx(tmp_path, SameIds(Counter()))
    with pytest.raises(CursorError, match="same id: ticket/ticket-page"):
        steps.discover(ctx)
    assert not ctx.stage.exists(steps.EXTRACT_MANIFEST)
