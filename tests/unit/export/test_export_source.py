"""The export source behind the Source interface: registered by its folder, staged then read from the stage,
planned by file offsets (every line in exactly one chunk), extracted with attachments staged; ``hdm stage-input``."""

from __future__ import annotations

import json
from collections import Counter
from typing import Literal

import pytest
from click.testing import CliRunner
from hdm import registry
from hdm.cli import main
from hdm.exitcodes import CONFIG, SOURCE
from hdm.model import Attachment
from hdm.pipeline.config import ConnectorConfig, MigrationConfig
from hdm.sources.base import SourceBase
from hdm.sources.export.config import ExportSourceConfig
from hdm.sources.export.errors import BundleInvalid, ExportBundleError
from hdm.sources.export.source import ExportSource
from hdm.sources.export.writer import BundleWriter, zip_bundle
from hdm.stage.local import LocalStage
from hdm_infra.export_bundle import write_broken_line, write_sample
from pydantic import ValidationError


@pytest.fixture
def bundle(tmp_path):
    write_sample(tmp_path / "b", tickets=5)
    return tmp_path / "b"


def _source(path, stage):
    src = ExportSource(path=str(path))
    src.attach_stage(stage)
    return src


def _all(src, chunk_rows, blobs=None):
    out = []
    for chunk in src.plan(chunk_rows):
        out.extend((chunk, r) for r in src.extract(chunk, blobs))
    return out


def test_the_source_is_registered_by_its_folder_and_in_the_config_union(bundle):
    assert registry.source("export").config is ExportSourceConfig
    cfg = MigrationConfig.model_validate({"migration_id": "m-export", "source": {"type": "export", "path": str(bundle)},
                                          "destination": {"type": "salesforce", "login_domain": "test",
                                                          "username": "u", "password": "env:X"}})
    assert cfg.source.type == "export" and cfg.source.path == str(bundle)


@pytest.mark.parametrize("doc", [{}, {"path": "/a", "staged": "inputs/bundle-0123456789abcdef/"},
                                 {"staged": "extract/ticket/"}, {"staged": "inputs/bundle-../"}])
def test_the_config_names_exactly_one_well_formed_place(doc):
    with pytest.raises(ValidationError):
        ExportSourceConfig(**doc)


@pytest.mark.parametrize("chunk_rows", [1, 2, 4, 1000])
def test_every_record_is_extracted_exactly_once_whatever_the_chunk_size(bundle, tmp_path, chunk_rows):
    stage = LocalStage(tmp_path / f"stage{chunk_rows}")
    src = _source(bundle, stage)
    found = src.discover()
    got = _all(src, chunk_rows, stage)
    keys = Counter(r.key for _, r in got)
    assert max(keys.values()) == 1
    assert Counter(r.OBJECT.value for _, r in got) == Counter(found.counts) and sum(found.counts.values()) == len(got)
    for chunk, _ in got:
        assert chunk.cursor["kind"] == "file_slice" and chunk.cursor["stage_key"].startswith(found.details["staged"])
        assert chunk.estimated_rows <= chunk_rows


def test_chunks_start_at_their_line_numbers_blank_lines_included(tmp_path):
    from hdm_infra.export_bundle import sample_records

    writer = BundleWriter(tmp_path / "b", {"system": "t"})
    for i, (rec, _) in enumerate(r for r in sample_records(6, bad_value=False) if r[0].OBJECT.value == "ticket"):
        writer.add(rec)
        if i % 2 == 0:
            writer.write_line("ticket", b"\n")
    writer.close()
    stage = LocalStage(tmp_path / "stage")
    src = _source(tmp_path / "b", stage)
    src.discover()
    raw = (tmp_path / "b" / "ticket.jsonl").read_bytes()
    for chunk in src.plan(2):
        first = chunk.cursor["first_line"]
        assert raw.count(b"\n", 0, chunk.cursor["offset"]) + 1 == first


def test_attachments_are_staged_as_blobs_and_the_bad_value_flagged(bundle, tmp_path):
    stage = LocalStage(tmp_path / "stage")
    src = _source(bundle, stage)
    src.discover()
    records = [r for _, r in _all(src, 3, stage)]
    atts = [r for r in records if isinstance(r, Attachment)]
    assert len(atts) == 2
    for a in atts:
        assert a.blob.startswith("blobs/") and stage.exists(a.blob) and not a.flags
        assert stage.get_bytes(a.blob).startswith(b"report for ticket")
    notes = [r for r in records if r.OBJECT.value == "message" and r.visibility.value == "internal"]
    assert len(notes) == 5
    bad = [r for r in records if r.flags and r.OBJECT.value == "ticket"]
    assert [(f.code, f.field) for f in bad[0].flags] == [("bad_value", "created_at")]
    assert bad[0].subject == "a ticket with a bad date"  # the record is kept


def test_an_attachment_naming_a_path_outside_files_is_refused_not_read(tmp_path):
    writer = BundleWriter(tmp_path / "b", {"system": "t"})
    from hdm.model import Provenance

    writer.add(Attachment(Provenance("t", "f", "1"), ticket="ticket:1", file_name="x", blob="../../etc/passwd"))
    writer.add(Attachment(Provenance("t", "f", "2"), ticket="ticket:1", file_name="y", blob="files/" + "0" * 64))
    writer.close()
    stage = LocalStage(tmp_path / "stage")
    src = _source(tmp_path / "b", stage)
    src.discover()
    flags = {r.key: [(f.code, f.severity) for f in r.flags] for _, r in _all(src, 10, stage)}
    assert flags == {"attachment:1": [("attachment_path_refused", "error")],
                     "attachment:2": [("missing_file", "error")]}


def test_a_broken_bundle_is_refused_before_anything_is_staged(tmp_path):
    write_broken_line(tmp_path / "b")
    stage = LocalStage(tmp_path / "stage")
    with pytest.raises(BundleInvalid, match=r"ticket.jsonl:\d+: not JSON"):
        _source(tmp_path / "b", stage).discover()
    assert stage.list("inputs/") == []


def test_a_staged_bundle_is_read_from_the_stage_only(bundle, tmp_path):
    stage = LocalStage(tmp_path / "stage")
    keys = ExportSource().stage_input(stage, zip_bundle(bundle, tmp_path / "b.zip"))
    prefix = keys[0].removesuffix("manifest.json")
    assert keys[0].endswith("manifest.json") and all(k.startswith(prefix) for k in keys)
    src = ExportSource(staged=prefix)
    src.attach_stage(stage)
    found = src.discover()
    assert sum(found.counts.values()) == len(_all(src, 4, stage))
    stage.put_bytes(prefix + "ticket.jsonl", stage.get_bytes(prefix + "ticket.jsonl")[:-5])  # damaged in the stage
    again = ExportSource(staged=prefix)
    again.attach_stage(stage)
    with pytest.raises(BundleInvalid, match="ticket.jsonl"):
        again.discover()
    nothing = ExportSource(staged="inputs/bundle-0123456789abcdef/")
    nothing.attach_stage(stage)
    with pytest.raises(ExportBundleError, match="no bundle staged under"):
        nothing.discover()


def _config(tmp_path, source: dict) -> str:
    path = tmp_path / "migration.yaml"
    path.write_text(json.dumps({"migration_id": "m-stage", "source": source,
                                "destination": {"type": "salesforce", "login_domain": "test", "username": "u",
                                                "password": "env:HDM_NOPE"}}))
    return str(path)


def test_hdm_stage_input_copies_a_checked_bundle_into_the_migration_stage(bundle, tmp_path):
    cfg = _config(tmp_path, {"type": "export", "staged": "inputs/bundle-0123456789abcdef/"})
    result = CliRunner().invoke(main, ["stage-input", "--config", cfg, "--workdir", str(tmp_path / "w"), str(bundle)])
    assert result.exit_code == 0, result.output
    assert "staged" in result.output and "under inputs/bundle-" in result.output
    staged = LocalStage(tmp_path / "w" / "m-stage" / "stage").list("inputs/")
    assert any(k.endswith("/manifest.json") for k in staged) and any("/files/" in k for k in staged)
    write_broken_line(tmp_path / "broken")
    bad = CliRunner().invoke(main, ["stage-input", "--config", cfg, "--workdir", str(tmp_path / "w2"),
                                    str(tmp_path / "broken")])
    assert bad.exit_code == SOURCE and "ticket.jsonl:" in bad.output and "not JSON" in bad.output
    aws = CliRunner(env={"HDM_STAGE_BUCKET": ""}).invoke(main, ["stage-input", "--config", cfg, "--engine", "aws",
                                                                 str(bundle)])
    assert aws.exit_code == CONFIG and "--stage-bucket" in aws.output


class _DirectConfig(ConnectorConfig):
    type: Literal["direct_only"] = "direct_only"


class _DirectSource(SourceBase):
    system = "direct_only"

    def close(self) -> None:
        pass


@pytest.fixture
def direct_only_source():
    registry.register_source("direct_only", _DirectConfig, lambda cfg, secrets: _DirectSource())
    yield
    registry.unregister("source", "direct_only")


def test_a_source_that_reads_its_system_directly_takes_no_upload(tmp_path, bundle, direct_only_source):
    cfg = _config(tmp_path, {"type": "direct_only"})
    result = CliRunner().invoke(main, ["stage-input", "--config", cfg, "--workdir", str(tmp_path / "w"), str(bundle)])
    assert result.exit_code == SOURCE and "takes no uploaded export" in result.output


def test_hdm_discover_checks_a_bundle_where_it_is_and_reports_its_counts(bundle, tmp_path):
    cfg = _config(tmp_path, {"type": "export", "path": str(bundle)})
    result = CliRunner().invoke(main, ["discover", "--config", cfg, "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    scoping = json.loads((tmp_path / "d" / "scoping.json").read_text())
    assert scoping["system"] == "export" and scoping["record_counts"]["ticket"] == 6
    assert scoping["details"]["staged"] == "(not staged)" and scoping["details"]["records_flagged_on_read"] == 1
    write_broken_line(tmp_path / "broken")
    cfg = _config(tmp_path, {"type": "export", "path": str(tmp_path / "broken")})
    bad = CliRunner().invoke(main, ["discover", "--config", cfg, "--out", str(tmp_path / "d2")])
    assert bad.exit_code == SOURCE and "ticket.jsonl:" in bad.output and "not JSON" in bad.output


def test_the_stack_policy_judges_the_bundle_path_as_any_local_path(bundle):
    from hdm.pipeline.stack_policy import StackPolicy

    def problems(source):
        cfg = MigrationConfig.model_validate({"migration_id": "m-policy", "source": source, "destination": {
            "type": "salesforce", "login_domain": "test", "username": "u",
            "password": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hdm/x"}})
        policy = StackPolicy(login_domains=("test.salesforce.com",), local_paths=(str(bundle.parent),),
                             account="123456789012", region="us-east-1")
        return [(".".join(p["loc"]), p["msg"]) for p in policy.problems(cfg)]

    assert problems({"type": "export", "path": str(bundle)}) == []
    assert problems({"type": "export", "staged": "inputs/bundle-0123456789abcdef/"}) == []
    refused = problems({"type": "export", "path": "/etc/bundle"})
    assert refused and refused[0][0] == "source.path" and "not allowed by this stack" in refused[0][1]


def test_a_bundle_read_and_written_again_is_the_same_bundle(tmp_path):
    from hdm_infra.export_bundle import main as export_main

    first = write_sample(tmp_path / "b", tickets=3, bad_value=False)
    cfg = _config(tmp_path, {"type": "export", "path": str(tmp_path / "b")})
    export_main(["--out", str(tmp_path / "again"), "--config", cfg, "--chunk-rows", "2"])
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert again["producer"]["system"] == "export"
    assert sorted(again["files"], key=lambda f: f["path"]) == sorted(first["files"], key=lambda f: f["path"])
    assert again["attachments"] == first["attachments"]  # the same bytes under the same names


def test_a_resumed_run_refuses_a_bundle_that_changed_since_it_was_planned(tmp_path):
    write_sample(tmp_path / "b", tickets=3)
    stage = LocalStage(tmp_path / "stage")
    first = _source(tmp_path / "b", stage)
    first.discover()
    plan = first.plan(4)
    write_sample(tmp_path / "b2", tickets=4)  # the bundle at the path is replaced before the run resumes
    (tmp_path / "b").rename(tmp_path / "old")
    (tmp_path / "b2").rename(tmp_path / "b")
    resumed = _source(tmp_path / "b", stage)
    with pytest.raises(ExportBundleError, match="planned on the bundle staged under inputs/bundle-"):
        list(resumed.extract(plan[0], stage))
    other = ExportSource(staged="inputs/bundle-0123456789abcdef/")
    other.attach_stage(stage)
    with pytest.raises(ExportBundleError, match="now names inputs/bundle-0123456789abcdef/"):
        list(other.extract(plan[0], stage))
    (tmp_path / "b").rename(tmp_path / "b2")
    (tmp_path / "old").rename(tmp_path / "b")
    assert list(_source(tmp_path / "b", stage).extract(plan[0], stage))  # the same bundle again: fine
