"""The export bundle's manifest and validation (docs/export-bundle.md): every problem named with its file and line,
before anything runs; a bad value costs the value (flagged), never the record."""

from __future__ import annotations

import json
import shutil

import pytest
from hdm.errors import classify
from hdm.exitcodes import SOURCE
from hdm.sources.export.bundle import FolderBundle, ZipBundle, open_local, read_manifest, validate
from hdm.sources.export.errors import BundleInvalid, ExportBundleError
from hdm.sources.export.records import LineRefused, model_schema_version, parse_line
from hdm.sources.export.writer import zip_bundle
from hdm_infra.export_bundle import write_broken_line, write_sample


@pytest.fixture
def bundle(tmp_path):
    write_sample(tmp_path / "b", tickets=4)
    return tmp_path / "b"


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def _rewrite(folder, change):
    data = _manifest(folder)
    change(data)
    (folder / "manifest.json").write_text(json.dumps(data))


def test_a_written_bundle_validates_and_its_counts_are_the_files(bundle):
    manifest, found = validate(FolderBundle(bundle))
    assert manifest.data["format"] == "hdm-export-bundle" and manifest.data["format_version"] == 1
    assert manifest.data["model_schema_version"] == model_schema_version()
    assert manifest.counts["ticket"] == 5 and manifest.counts["message"] == 12 and manifest.counts["attachment"] == 2
    for entry in manifest.files:  # the manifest's count is the file's non-blank lines
        lines = [x for x in (bundle / entry.path).read_bytes().split(b"\n") if x.strip()]
        assert len(lines) == entry.lines == found[entry.path]["records"]
    assert found["ticket.jsonl"]["flagged"] == 1  # the sample's bad date


@pytest.mark.parametrize("change, expected", [
    (lambda m: m.pop("producer"), "'producer' is a required property"),
    (lambda m: m.update(format="other"), "format"),
    (lambda m: m["files"][0].update(sha256="xyz"), "files/0/sha256"),
    (lambda m: m.update(surprise=1), "Additional properties"),
])
def test_the_manifest_is_checked_against_its_json_schema(bundle, change, expected):
    _rewrite(bundle, change)
    with pytest.raises(BundleInvalid) as err:
        read_manifest(FolderBundle(bundle))
    assert "manifest.json" in str(err.value) and expected in str(err.value)


def test_another_format_or_model_version_is_refused_clearly(bundle):
    _rewrite(bundle, lambda m: m.update(format_version=99))
    with pytest.raises(ExportBundleError, match="format_version 99 is not one this hdm reads"):
        read_manifest(FolderBundle(bundle))
    _rewrite(bundle, lambda m: m.update(format_version=1, model_schema_version=model_schema_version() + 1))
    with pytest.raises(ExportBundleError, match="canonical model schema"):
        read_manifest(FolderBundle(bundle))


def test_a_manifest_that_is_not_json_names_its_line(bundle):
    (bundle / "manifest.json").write_text('{\n "format": "hdm-export-bundle",\n oops\n}')
    with pytest.raises(ExportBundleError, match=r"manifest.json:3: not JSON"):
        read_manifest(FolderBundle(bundle))


def test_a_wrong_checksum_and_a_truncated_file_are_refused_naming_the_file(bundle):
    data = (bundle / "message.jsonl").read_bytes()
    (bundle / "message.jsonl").write_bytes(data.replace(b"Bonjour", b"Bonsoir", 1))  # same size, other bytes
    (bundle / "ticket.jsonl").write_bytes((bundle / "ticket.jsonl").read_bytes()[:-40])  # cut inside the last line
    with pytest.raises(BundleInvalid) as err:
        validate(FolderBundle(bundle))
    problems = err.value.problems
    assert "message.jsonl: sha256 differs from the manifest's (changed or damaged)" in problems
    assert any(p.startswith("ticket.jsonl:5: not JSON") and "truncated" in p for p in problems), problems
    assert any(p.startswith("ticket.jsonl: ") and "(truncated)" in p for p in problems), problems
    assert classify(err.value)[0] == SOURCE  # a source error: its exit status


def test_a_line_that_is_not_json_is_named_by_file_and_line(tmp_path):
    line = write_broken_line(tmp_path / "b", "ticket", after=2)
    with pytest.raises(BundleInvalid) as err:
        validate(FolderBundle(tmp_path / "b"))
    assert len(err.value.problems) == 1, err.value.problems  # checksums and counts agree: only the line is wrong
    assert err.value.problems[0].startswith(f"ticket.jsonl:{line}: not JSON")
    assert f"ticket.jsonl:{line}: not JSON" in str(err.value)


def test_missing_files_and_damaged_attachments_are_problems(bundle):
    (bundle / "event.jsonl").unlink()
    blob = next((bundle / "files").iterdir())
    blob.write_bytes(b"changed")
    with pytest.raises(BundleInvalid) as err:
        validate(FolderBundle(bundle))
    assert "event.jsonl: listed in the manifest but missing" in err.value.problems
    assert any(p.startswith(f"files/{blob.name}:") for p in err.value.problems)


def test_a_line_of_another_type_or_without_identity_is_refused():
    with pytest.raises(LineRefused, match="_type 'message' in a file of ticket records"):
        parse_line(b'{"_type": "message", "provenance": {"system": "s", "object": "o", "id": "1"}}', "ticket")
    with pytest.raises(LineRefused, match="provenance"):
        parse_line(b'{"_type": "ticket", "provenance": {"system": "s", "object": "o"}}', "ticket")
    with pytest.raises(LineRefused, match="not a JSON object"):
        parse_line(b"[1, 2]", "ticket")


def test_a_bad_value_is_flagged_and_the_rest_of_the_record_kept():
    rec = parse_line(json.dumps({
        "_type": "ticket", "provenance": {"system": "s", "object": "t", "id": "7"}, "subject": "Grüße ✓",
        "created_at": 20240101, "status_state": "exploded", "tags": "not-a-list", "unknown_thing": 1,
        "flags": [{"code": "from_producer", "reason": "kept"}]}).encode(), "ticket")
    assert rec.key == "ticket:7" and rec.subject == "Grüße ✓"
    assert rec.created_at is None and rec.status_state is None and rec.tags == []
    codes = sorted((f.code, f.field) for f in rec.flags)
    assert codes == [("bad_value", "created_at"), ("bad_value", "status_state"), ("bad_value", "tags"),
                     ("from_producer", None), ("unknown_field", "unknown_thing")]


def test_a_zip_reads_like_its_folder_at_the_top_or_in_one_folder(bundle, tmp_path):
    top = zip_bundle(bundle, tmp_path / "top.zip")
    shutil.copytree(bundle, tmp_path / "nested" / "acme-export")
    nested = zip_bundle(tmp_path / "nested", tmp_path / "nested.zip")
    want = validate(FolderBundle(bundle))[0].counts
    for path in (top, nested):
        z = open_local(path)
        assert isinstance(z, ZipBundle)
        assert validate(z)[0].counts == want
        z.close()
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(ExportBundleError, match="bad.zip: not a readable zip"):
        open_local(tmp_path / "bad.zip")


def test_two_records_with_one_id_are_refused_naming_both_lines(tmp_path):
    from hdm.model import Provenance, Ticket
    from hdm.sources.export.writer import BundleWriter

    writer = BundleWriter(tmp_path / "b", {"system": "t"})
    for ident in ("1", "2", "1"):
        writer.add(Ticket(Provenance("t", "ticket", ident), subject=ident))
    writer.close()
    with pytest.raises(BundleInvalid) as err:
        validate(FolderBundle(tmp_path / "b"))
    assert err.value.problems == ["ticket.jsonl:3: the same provenance.id as line 1 (one key, two records)"]


def test_a_file_longer_than_declared_is_not_read_to_its_end(bundle):
    with open(bundle / "event.jsonl", "ab") as f:
        f.write(b"\n" * 10 + b"x" * 100)
    with pytest.raises(BundleInvalid) as err:
        validate(FolderBundle(bundle))
    assert any(p.startswith("event.jsonl: longer than the") for p in err.value.problems), err.value.problems


def test_a_type_may_come_in_parts_named_after_it(bundle):
    (bundle / "message.jsonl").rename(bundle / "message-1.jsonl")
    _rewrite(bundle, lambda m: [f.update(path="message-1.jsonl") for f in m["files"] if f["object_type"] == "message"])
    assert validate(FolderBundle(bundle))[0].counts["message"] == 12
    _rewrite(bundle, lambda m: [f.update(path="ticket-1.jsonl") for f in m["files"] if f["object_type"] == "message"])
    with pytest.raises(BundleInvalid, match="must be named after its object type"):
        read_manifest(FolderBundle(bundle))
