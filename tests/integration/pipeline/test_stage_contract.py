"""One behaviour, two stages: LocalStage (a directory) and S3Stage (moto S3 with KMS)."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest
from hdm.stage.base import Stage, StageKeyMissing
from hdm.stage.local import LocalStage


@pytest.fixture(params=["local", "s3"])
def stage(request, tmp_path) -> Stage:
    if request.param == "local":
        return LocalStage(tmp_path / "stage")
    return request.getfixturevalue("s3_stage")


def test_bytes_and_json_round_trip(stage):
    stage.put_bytes("reports/a.bin", b"\x00\x01binary\xff")
    stage.put_json("plan.json", {"chunks": [{"lo": 1, "hi": 2}], "name": "é"})
    assert stage.get_bytes("reports/a.bin") == b"\x00\x01binary\xff"
    assert stage.get_json("plan.json") == {"chunks": [{"lo": 1, "hi": 2}], "name": "é"}
    assert stage.exists("plan.json") and not stage.exists("nope.json")


def test_a_missing_key_is_a_clear_error(stage):
    with pytest.raises(StageKeyMissing):
        stage.get_bytes("extract/ticket/none.jsonl.gz")


def test_records_stream_through_gzip_jsonl_in_order(stage):
    rows = ({"_source_key": f"ticket:{i}", "body": "x" * (i % 50)} for i in range(20_000))
    assert stage.write_records("extract/ticket/ticket-1.jsonl.gz", rows) == 20_000
    back = stage.read_records("extract/ticket/ticket-1.jsonl.gz")
    assert [r["_source_key"] for r in back] == [f"ticket:{i}" for i in range(20_000)]


def test_a_large_object_streams_in_and_out_whole(stage):
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with stage.open_write("transform/cases/big.bin") as f:
        for _ in range(12):  # 12 MiB: past the S3 spool threshold and the multipart threshold
            f.write(block)
            digest.update(block)
    check = hashlib.sha256()
    total = 0
    with stage.open_read("transform/cases/big.bin") as f:
        while part := f.read(1 << 18):
            check.update(part)
            total += len(part)
    assert total == 12 << 20 and check.hexdigest() == digest.hexdigest()


def test_a_failed_write_leaves_no_object(stage):
    with pytest.raises(RuntimeError):
        with stage.open_write("results/cases/c1.json") as f:
            f.write(b"half")
            raise RuntimeError("boom")
    assert not stage.exists("results/cases/c1.json")
    assert stage.list("results/") == []


def test_the_same_attachment_is_staged_once(stage):
    k1, sha1, n1 = stage.put_blob(iter([b"hello ", b"world"]))
    k2, sha2, n2 = stage.put_blob(iter([b"hello world"]))
    assert (k1, sha1, n1) == (k2, sha2, n2)
    assert sha1 == hashlib.sha256(b"hello world").hexdigest() and n1 == 11
    assert stage.list("blobs/") == [k1]
    with stage.open_blob(k1) as f:
        assert f.read() == b"hello world"


def test_listings_are_sorted_prefix_scoped_and_logical(stage):
    keys = [f"extract/ticket/ticket-{i:04d}.jsonl.gz" for i in range(40)] + [
        "extract/message/m-1.jsonl.gz", "extract-stats/ticket/ticket-0000.json", "manifests/extract.json"]
    for k in keys:
        stage.put_bytes(k, b"{}")
    assert stage.list("extract/ticket/") == sorted(k for k in keys if k.startswith("extract/ticket/"))
    assert stage.list("extract/") == sorted(k for k in keys if k.startswith("extract/"))
    assert stage.list("extract") == sorted(k for k in keys if k.startswith("extract"))  # a bare prefix, as in S3
    assert stage.list("manifests/") == ["manifests/extract.json"]
    assert stage.list("nothing/") == []
    stage.delete("extract/message/m-1.jsonl.gz")
    assert "extract/message/m-1.jsonl.gz" not in stage.list("extract/")


def test_concurrent_writers_do_not_interfere(stage):
    errors = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                stage.put_json(f"results/p/{n}-{i}.json", {"n": n, "i": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(stage.list("results/p/")) == 60
    assert stage.get_json("results/p/5-9.json") == {"n": 5, "i": 9}


def test_s3_chunks_spread_over_prefixes_and_are_encrypted(s3_stage):
    for i in range(64):
        s3_stage.put_bytes(f"extract/ticket/ticket-{i:04d}.jsonl.gz", b"x")
    shards = {s3_stage.object_key(k).split("/")[3] for k in s3_stage.list("extract/ticket/")}
    assert len(shards) >= 8  # 16 possible; 64 keys land on most of them
    assert s3_stage.object_key("manifests/extract.json") == "migrations/m-test/manifests/extract.json"
    key = s3_stage.object_key("extract/ticket/ticket-0001.jsonl.gz")
    head = s3_stage.client.head_object(Bucket=s3_stage.bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert s3_stage.kms_key_id in head["SSEKMSKeyId"]
    assert s3_stage.uri("plan.json") == "s3://hdm-stage-test/migrations/m-test/plan.json"
