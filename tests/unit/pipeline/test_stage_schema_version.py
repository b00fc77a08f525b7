"""Staged chunks carry the canonical model's schema version; a stage of another version is refused by name and
version, never read as if it were current (its records may use names this code no longer knows)."""

from __future__ import annotations

import gzip

import pytest
from hdm.model import SCHEMA_VERSION, Direction, Message, Provenance, StageSchemaError, Ticket
from hdm.pipeline import steps
from hdm.pipeline.config import MigrationConfig
from hdm.sources.base import ChunkSpec, Discovery, SourceBase
from hdm.stage.local import LocalStage


class TinySource(SourceBase):
    system = "tiny"

    def discover(self) -> Discovery:
        return Discovery(self.system, "1", {"ticket": 3})

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        return [ChunkSpec.key_range("ticket", 1, 3, 3)]

    def extract(self, chunk: ChunkSpec, blobs=None):
        for i in range(1, 4):
            yield Ticket(Provenance(self.system, "ticket", str(i)), subject=f"t{i}", queue="team:q1",
                         category="category:2", external_ids={"crm": f"C{i}"})
            yield Message(Provenance(self.system, "entry", str(i)), ticket=f"ticket:{i}",
                          direction=Direction.INBOUND, body_text="é ☃", extra={"big": 10**30})

    def close(self) -> None:
        pass


class NoDestination:  # transform refuses the stage before it asks the destination anything
    pass


@pytest.fixture
def ctx(tmp_path) -> steps.Context:
    cfg = MigrationConfig.model_validate({
        "migration_id": "schema-unit", "chunk_rows": 10,
        "source": {"type": "osticket", "database": "x", "user": "u", "password": "env:NOPE"},
        "destination": {"type": "salesforce", "username": "u"},
    })
    return steps.Context("schema-unit", "r1", cfg, LocalStage(tmp_path / "stage"), crosswalk=None,  # type: ignore[arg-type]
                         source=TinySource, destination=NoDestination)  # type: ignore[arg-type]


def _extract(ctx) -> ChunkSpec:
    steps.discover(ctx)
    assert ctx.stage.get_json(steps.PLAN_KEY)["schema_version"] == SCHEMA_VERSION
    item = ctx.stage.get_json(steps.EXTRACT_MANIFEST)[0]
    out = steps.extract_chunk(ctx, item)
    assert out["records"] == 6
    return ChunkSpec.from_dict(item["chunk"])


def test_extracted_chunks_record_the_schema_version_and_read_back_as_records(ctx):
    chunk = _extract(ctx)
    stats = ctx.stage.get_json(steps.extract_stats_key(chunk))
    assert stats["schema_version"] == SCHEMA_VERSION == 2
    records = steps.read_extracted(ctx.stage, chunk)
    assert [type(r).__name__ for r in records] == ["Ticket", "Message"] * 3
    assert records[0].queue == "team:q1" and records[0].external_ids == {"crm": "C1"}
    assert records[1].direction is Direction.INBOUND
    assert records[1].body_text == "é ☃" and records[1].extra == {"big": 10**30}  # beyond 64 bits: kept
    with ctx.stage.open_read(steps.extract_key(chunk)) as raw:  # the staged line names its class
        assert gzip.decompress(raw.read()).startswith(b'{"_type":"ticket"')


@pytest.mark.parametrize("staged_version", [None, 1, 3])
def test_a_chunk_staged_with_another_schema_version_is_refused_naming_both(ctx, staged_version):
    chunk = _extract(ctx)
    stats = ctx.stage.get_json(steps.extract_stats_key(chunk))
    if staged_version is None:
        del stats["schema_version"]  # staged before versions were recorded: version 1
    else:
        stats["schema_version"] = staged_version
    ctx.stage.put_json(steps.extract_stats_key(chunk), stats)
    found = staged_version or 1
    message = rf"{steps.extract_key(chunk)} was staged with canonical model schema version {found}, .*version 2"
    with pytest.raises(StageSchemaError, match=message):
        steps.transform_chunk(ctx, {"chunk": chunk.to_dict()})
    with pytest.raises(StageSchemaError, match=message):  # a resumed extract does not take it for done either
        steps.extract_chunk(ctx, {"chunk": chunk.to_dict()})
