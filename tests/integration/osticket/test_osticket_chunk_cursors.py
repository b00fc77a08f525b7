"""The osTicket source plans key-range cursors (issue 11, item 2) and keeps the chunk ids of earlier runs:
for the same data the plan names the same chunks and stage keys, so a resumed migration (and the local
engine's "finished chunk" skip) finds what an earlier run did; a plan staged by an earlier release extracts
the same records."""

from __future__ import annotations

import json

import pytest
from hdm.pipeline import steps
from hdm.sources.base import ChunkSpec, CursorError, FileSlice, KeyRange


def _old_id(object_type: str, lo: int, hi: int) -> str:
    return f"{object_type}-{lo:010d}-{hi:010d}"  # how every release before cursors named a chunk


def _seed(db):
    dept = db.seed.department("Support")
    users = [db.seed.user(f"User {i}", f"u{i}@example.test") for i in range(3)]
    tickets = []
    for i in range(5):
        tid = db.seed.ticket(users[i % 3], f"Case {i}", dept_id=dept)
        db.seed.entry(tid, "M", f"<p>help {i}</p>", "2021-03-01 10:00:00", user_id=users[i % 3])
        tickets.append(tid)
    return users, tickets


def test_the_plan_names_the_same_chunks_and_stage_keys_as_before(seeded_db):
    db = seeded_db()
    users, tickets = _seed(db)
    with db.source() as src:
        plan = src.plan(2)
    assert all(c.kind == KeyRange.KIND for c in plan)
    t = sorted(tickets)
    # contiguous ranges of two tickets each; the first starts at the first ticket id
    ranges = [(t[0], t[1]), (t[1] + 1, t[3]), (t[3] + 1, t[4])]
    for object_type in ("ticket", "message", "attachment", "event"):
        got = [c.chunk_id for c in plan if c.object_type == object_type]
        assert got == [_old_id(object_type, lo, hi) for lo, hi in ranges]
    u = sorted(users)
    contacts = [c for c in plan if c.object_type == "contact"]
    assert [c.chunk_id for c in contacts] == [_old_id("contact", u[0], u[1]), _old_id("contact", u[1] + 1, u[2])]
    assert steps.extract_key(contacts[0]) == f"extract/contact/{_old_id('contact', u[0], u[1])}.jsonl.gz"


def test_a_chunk_from_the_staged_plan_and_one_from_an_earlier_release_extract_the_same_records(seeded_db):
    db = seeded_db()
    _seed(db)
    with db.source() as src:
        chunk = next(c for c in src.plan(2) if c.object_type == "message")
        staged = ChunkSpec.from_dict(json.loads(json.dumps(chunk.to_dict())))
        keys = chunk.cursor_as(KeyRange)
        legacy = ChunkSpec.from_dict({"object_type": "message", "lo": keys.lo, "hi": keys.hi,
                                      "estimated_rows": chunk.estimated_rows})
        assert staged == chunk == legacy
        first = [r.to_dict() for r in src.extract(staged)]
        again = [r.to_dict() for r in src.extract(legacy)]
    assert len(first) == 2 and first == again


def test_the_osticket_source_refuses_cursors_it_did_not_plan_and_uploads(seeded_db, tmp_path):
    db = seeded_db()
    with db.source() as src:
        with pytest.raises(CursorError, match="expected a key_range cursor"):
            list(src.extract(ChunkSpec("ticket", FileSlice("inputs/x.jsonl", 0, 10).to_dict())))
        with pytest.raises(NotImplementedError, match="takes no uploaded export"):
            src.stage_input(None, tmp_path / "export.jsonl")
