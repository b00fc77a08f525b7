"""A FileSlice of a staged S3 object is read by a ranged GET: only the slice's bytes (and one byte past its
end, which shows whether the slice ends at a line end) travel, not the whole object. The local stage seeks."""

from __future__ import annotations

import pytest
from hdm.sources.base import CursorError, FileSlice, plan_line_slices, read_lines
from hdm.stage.local import LocalStage

LINES = [f'{{"n": {i}, "pad": "{"x" * 40}"}}\n'.encode() for i in range(200)]
BODY = b"".join(LINES)


class Recording:
    """The S3 client, recording each get_object call and how many bytes it answered."""

    def __init__(self, client):
        self._client, self.gets = client, []

    def get_object(self, **kw):
        response = self._client.get_object(**kw)
        self.gets.append((kw.get("Range"), response["ContentLength"]))
        return response

    def __getattr__(self, name):
        return getattr(self._client, name)


def _staged(stage):
    stage.put_bytes("inputs/abc-export.jsonl", BODY)
    return [cut for cut, _ in plan_line_slices(stage, "inputs/abc-export.jsonl", 50)]


def test_an_s3_slice_reads_only_its_byte_range(s3_stage):
    cuts = _staged(s3_stage)
    assert len(cuts) == 4
    s3_stage.client = recording = Recording(s3_stage.client)
    got = []
    for cut in cuts:
        got += [line for _, line in read_lines(s3_stage, cut)]
    assert got == LINES  # every line exactly once, in order
    ranges = recording.gets
    assert len(ranges) == 4 and all(r is not None for r, _ in ranges)
    for cut, (header, size) in zip(cuts, ranges, strict=True):
        assert header == f"bytes={cut.offset}-{cut.offset + cut.length}"
        assert size <= cut.length + 1 < len(BODY)  # a quarter of the object, not all of it


def test_a_slice_not_ending_at_a_line_end_or_past_the_object_is_refused(s3_stage):
    _staged(s3_stage)
    with pytest.raises(CursorError, match="does not end at a line end"):
        list(read_lines(s3_stage, FileSlice("inputs/abc-export.jsonl", 0, len(LINES[0]) + 3)))
    with pytest.raises(CursorError, match="ends at"):
        list(read_lines(s3_stage, FileSlice("inputs/abc-export.jsonl", len(BODY) - len(LINES[-1]), 500)))
    with pytest.raises(CursorError, match="shorter than the offset"):
        list(read_lines(s3_stage, FileSlice("inputs/abc-export.jsonl", len(BODY) + 10, 5)))
    last = FileSlice("inputs/abc-export.jsonl", len(BODY) - len(LINES[-1]), len(LINES[-1]))
    assert [line for _, line in read_lines(s3_stage, last)] == [LINES[-1]]  # the range may end at the object end


def test_the_local_stage_reads_the_same_slices_by_seeking(tmp_path):
    stage = LocalStage(tmp_path / "stage")
    cuts = _staged(stage)
    assert [line for cut in cuts for _, line in read_lines(stage, cut)] == LINES
    with pytest.raises(CursorError, match="does not end at a line end"):
        list(read_lines(stage, FileSlice("inputs/abc-export.jsonl", len(LINES[0]), len(LINES[1]) - 1)))
