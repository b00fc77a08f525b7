"""The osTicket extractor against real MariaDB installs (1.18, 1.14, legacy 1.9) seeded with precise cases."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hdm.model import MessageKind, Visibility
from hdm.sources.osticket import OsTicketSource

BIG = bytes(range(256)) * 2600  # 665,600 bytes: two 500 KiB chunks


def build_case(db, with_files: bool = True) -> dict:
    s = db.seed
    modern = not db.version.startswith("legacy")
    ids: dict = {}
    sla = s.sla("Gold", 8)
    dept = s.department("Support", sla_id=sla)
    alice = s.staff("alice", dept)
    ids["alice"] = alice
    acme = s.org("Acme")
    carol = s.user("Carol Customer", "carol@acme.example.test", acme)
    dave = s.user("Dave Nobody", "dave@example.test")
    ids.update(carol=carol, dave=dave, acme=acme)
    s.user("Lost Org", "lost@example.test", org_id=999)

    t1 = s.ticket(carol, "VPN down", dept_id=dept)
    ids["t1"] = t1
    m1 = s.entry(t1, "M", "<p>hello</p>", "2021-03-01 10:00:00", user_id=carol, poster="Carol Customer", flags=1)
    r1 = s.entry(t1, "R", "<p>on it</p>", "2021-03-01 11:00:00", staff_id=alice, poster="Alice Agent")
    n1 = s.entry(t1, "N", "<p>secret note</p>", "2021-03-01 12:00:00", staff_id=alice, poster="Alice Agent")
    ids.update(m1=m1, r1=r1, n1=n1)
    # same created as r1 but higher id: ordered after it
    r2 = s.entry(t1, "R", "plain reply", "2021-03-01 11:00:00", staff_id=alice, poster="Alice Agent", fmt="text")
    ids["r2"] = r2
    if modern:
        ids["sys"] = s.entry(t1, "N", "Status changed", "2021-03-01 13:00:00", poster="SYSTEM", flags=0x80)
        ids["hidden"] = s.entry(t1, "R", "<p>old version</p>", "2021-03-01 11:30:00", staff_id=alice, flags=0x4)
        ids["edited"] = s.entry(t1, "R", "<p>new version</p>", "2021-03-01 11:30:00", staff_id=alice, flags=0x2)
    if with_files:
        f_big = s.file(BIG, "capture.bin")
        ids["att_note"] = s.attach(t1, n1, f_big)
        f_img = s.file(b"\x89PNG fake", "logo.png", "image/png")
        ids["att_inline"] = s.attach(t1, m1, f_img, inline=True)
        ids["img_file"] = f_img
    s.event(t1, 1, "2021-03-01 10:00:00")
    s.event(t1, 2, "2021-03-02 10:00:00", staff_id=alice)

    t2 = s.ticket(dave, "broken things", created="0000-00-00 00:00:00", priority_id=None)
    ids["t2"] = t2
    ids["gone_agent_entry"] = s.entry(t2, "R", "<p>from a deleted agent</p>", "2021-04-01 09:00:00", staff_id=999,
                                      poster="Gone Agent")
    if with_files:
        ids["broken"] = s.attach(t2, ids["gone_agent_entry"], s.file(BIG + b"x" * 600_000, "three.bin",
                                                                     chunks=[0, 2]))
        ids["nochunks"] = s.attach(t2, ids["gone_agent_entry"], s.file(b"abc", "empty.bin", chunks=[]))

    t3 = s.ticket(carol, "long one")
    ids["t3"] = t3
    long_html = "<p>" + ("x" * 70_000) + "</p>"
    ids["long_html"] = long_html
    ids["long_entry"] = s.entry(t3, "M", "", "2021-05-01 09:00:00", user_id=carol)
    if with_files:
        ids["body_file_att"] = s.attach(t3, ids["long_entry"], s.file(long_html.encode(), "a1b2.txt", "text/html"),
                                        inline=True)
    t4 = s.ticket(999, "orphan requester")
    ids["t4"] = t4
    ids["t4_entry"] = s.entry(t4, "M", "<p>who am i</p>", "2021-06-01 09:00:00", user_id=999, poster="Ghost")
    return ids


def extract_all(src: OsTicketSource, chunk_rows: int = 2, blobs=None) -> tuple[dict, dict]:
    by_type: dict[str, list] = {}
    stats: dict[str, Counter] = {}
    for chunk in src.plan(chunk_rows):
        for rec in src.extract(chunk, blobs):
            by_type.setdefault(chunk.object_type, []).append(rec)
        st = stats.setdefault(chunk.object_type, Counter())
        st.update(src.last_stats.skipped)
    return by_type, stats


@pytest.mark.parametrize("version", ["1.18", "1.14", "legacy-1.9"])
def test_every_object_type_is_extracted_and_counts_equal_discovery(seeded_db, version, blobs):
    db = seeded_db(version=version)
    build_case(db)
    with db.source() as src:
        assert src.layout.value == ("legacy" if version.startswith("legacy") else "modern")
        found = src.discover()
        records, _ = extract_all(src, blobs=blobs)
    got = {t: len(v) for t, v in records.items()}
    for object_type, expected in found.counts.items():
        assert got.get(object_type, 0) == expected, object_type
    assert got["ticket"] == 4 and got["contact"] == 3 and got["organization"] == 1
    assert found.details["table_counts"]["ticket"] == 4


@pytest.mark.parametrize("version", ["1.18", "legacy-1.9"])
def test_threads_arrive_in_order_with_right_author_and_visibility(seeded_db, version):
    db = seeded_db(version=version)
    ids = build_case(db, with_files=False)
    with db.source() as src:
        msgs = [m for c in src.plan(100) if c.object_type == "message" for m in src.extract(c)]
    t1 = [m for m in msgs if m.ticket == f"ticket:{ids['t1']}"]
    assert [m.position for m in t1] == list(range(len(t1)))
    order = [int(m.provenance.id) for m in t1]
    assert order[:3] == [ids["m1"], ids["r1"], ids["r2"]]
    by_id = {int(m.provenance.id): m for m in t1}
    assert by_id[ids["m1"]].author == f"contact:{ids['carol']}"
    assert by_id[ids["m1"]].author_email == "carol@acme.example.test"
    assert (by_id[ids["m1"]].kind, by_id[ids["m1"]].visibility) == (MessageKind.CUSTOMER, Visibility.PUBLIC)
    assert (by_id[ids["r1"]].kind, by_id[ids["r1"]].visibility) == (MessageKind.AGENT, Visibility.PUBLIC)
    assert by_id[ids["r1"]].author == f"agent:{ids['alice']}"
    assert by_id[ids["r2"]].body_format == "text" and by_id[ids["r2"]].body_text == "plain reply"


def test_internal_notes_and_system_notes_arrive_internal(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    with db.source() as src:
        msgs = {int(m.provenance.id): m for c in src.plan(100) if c.object_type == "message" for m in src.extract(c)}
    assert msgs[ids["n1"]].visibility is Visibility.INTERNAL
    assert msgs[ids["sys"]].kind is MessageKind.SYSTEM and msgs[ids["sys"]].visibility is Visibility.INTERNAL
    assert msgs[ids["sys"]].author is None


def test_hidden_superseded_edits_are_excluded_and_counted(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    with db.source() as src:
        chunk = next(c for c in src.plan(100) if c.object_type == "message")
        msgs = {int(m.provenance.id): m for m in src.extract(chunk)}
        assert src.last_stats.skipped["hidden_superseded_edit"] == 1
        assert src.last_stats.rows_read["thread_entry"] == len(msgs) + 1
    assert ids["hidden"] not in msgs
    assert msgs[ids["edited"]].edited is True


def test_zero_dates_become_null_with_a_flag(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    with db.source() as src:
        tickets = {t.provenance.id: t for c in src.plan(100) if c.object_type == "ticket" for t in src.extract(c)}
    t2 = tickets[str(ids["t2"])]
    assert t2.created_at is None
    assert any(f.code == "zero_date" and f.field == "created_at" for f in t2.flags)
    assert tickets[str(ids["t1"])].created_at == "2021-03-01T10:00:00Z"


def test_datetimes_are_converted_from_db_timezone_to_utc(seeded_db):
    db = seeded_db(timezone="Europe/Berlin")
    ids = build_case(db, with_files=False)
    with db.source() as src:
        tickets = {t.provenance.id: t for c in src.plan(100) if c.object_type == "ticket" for t in src.extract(c)}
    assert tickets[str(ids["t1"])].created_at == "2021-03-01T09:00:00Z"  # CET = UTC+1 in March


def test_dangling_authors_and_requesters_keep_names_and_are_flagged(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    with db.source() as src:
        plan = src.plan(100)
        msgs = {int(m.provenance.id): m for c in plan if c.object_type == "message" for m in src.extract(c)}
        tickets = {t.provenance.id: t for c in plan if c.object_type == "ticket" for t in src.extract(c)}
        contacts = {c.provenance.id: c for ch in plan if ch.object_type == "contact" for c in src.extract(ch)}
    gone = msgs[ids["gone_agent_entry"]]
    assert gone.author is None and gone.author_name == "Gone Agent"
    assert any(f.code == "dangling_fk" and f.field == "author" for f in gone.flags)
    ghost = msgs[ids["t4_entry"]]
    assert ghost.author is None and ghost.author_name == "Ghost"
    t4 = tickets[str(ids["t4"])]
    assert t4.requester is None and any(f.code == "dangling_fk" for f in t4.flags)
    lost = next(c for c in contacts.values() if c.email == "lost@example.test")
    assert lost.organization is None and any(f.code == "dangling_fk" for f in lost.flags)
    assert contacts[str(ids["carol"])].organization == f"organization:{ids['acme']}"


def test_subject_and_priority_come_from_form_answers(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    with db.source() as src:
        tickets = {t.provenance.id: t for c in src.plan(100) if c.object_type == "ticket" for t in src.extract(c)}
    t1 = tickets[str(ids["t1"])]
    assert (t1.subject, t1.priority, t1.priority_urgency) == ("VPN down", "high", 2)
    assert t1.status == "Open" and t1.status_state.value == "open"
    t2 = tickets[str(ids["t2"])]  # no priority answer: config default (2 = normal) applies, flagged
    assert t2.priority == "normal" and any(f.code == "default_priority" for f in t2.flags)


def test_long_bodies_are_restored_from_their_inline_file(seeded_db):
    db = seeded_db()
    ids = build_case(db)
    with db.source() as src:
        plan = src.plan(100)
        msgs = {int(m.provenance.id): m for c in plan if c.object_type == "message" for m in src.extract(c)}
        atts = [a for c in plan if c.object_type == "attachment" for a in src.extract(c)]
        skipped = src.last_stats.skipped
    long_msg = msgs[ids["long_entry"]]
    assert long_msg.body_html == ids["long_html"]
    assert long_msg.attachments == []
    assert all(a.provenance.id != str(ids["body_file_att"]) for a in atts)
    assert skipped["body_storage_file"] == 1


def test_attachment_bytes_stream_chunk_by_chunk_and_note_files_are_internal(seeded_db, blobs):
    db = seeded_db()
    ids = build_case(db)
    with db.source() as src:
        atts = {a.provenance.id: a for c in src.plan(100) if c.object_type == "attachment"
                for a in src.extract(c, blobs)}
    note_file = atts[str(ids["att_note"])]
    assert note_file.visibility is Visibility.INTERNAL
    assert blobs.blobs[note_file.sha256] == BIG and note_file.size == len(BIG)
    assert blobs.max_piece <= 500 * 1024  # never more than one chunk at a time
    inline = atts[str(ids["att_inline"])]
    assert inline.inline and inline.content_id and inline.visibility is Visibility.PUBLIC
    assert inline.message == f"message:{ids['m1']}"


def test_broken_and_missing_chunks_are_flagged_not_fatal(seeded_db, blobs):
    db = seeded_db()
    ids = build_case(db)
    with db.source() as src:
        atts = {a.provenance.id: a for c in src.plan(100) if c.object_type == "attachment"
                for a in src.extract(c, blobs)}
    broken = atts[str(ids["broken"])]
    codes = {f.code: f.severity for f in broken.flags}
    assert codes.get("broken_chunks") == "error" and codes.get("size_mismatch") == "error"
    empty = atts[str(ids["nochunks"])]
    assert empty.blob is None and any(f.code == "missing_file" and f.severity == "error" for f in empty.flags)


def test_filesystem_backend_attachments_are_read_from_attachments_dir(seeded_db, blobs, tmp_path):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    data = b"stored on disk " * 1000
    fid = db.seed.file(data, "disk.txt", "text/plain", bk="F", files_dir=str(tmp_path))
    att_id = db.seed.attach(ids["t1"], ids["r1"], fid)
    missing_id = db.seed.attach(ids["t1"], ids["r2"], db.seed.file(b"gone", "gone.txt", bk="F"))
    with db.source(attachments_dir=str(tmp_path)) as src:
        atts = {a.provenance.id: a for c in src.plan(100) if c.object_type == "attachment"
                for a in src.extract(c, blobs)}
    assert blobs.blobs[atts[str(att_id)].sha256] == data
    assert atts[str(att_id)].storage.startswith("fs:")
    assert any(f.code == "missing_file" for f in atts[str(missing_id)].flags)
    with db.source() as src:  # no attachments_dir: flagged, not fatal
        atts = {a.provenance.id: a for c in src.plan(100) if c.object_type == "attachment"
                for a in src.extract(c, blobs)}
    assert any(f.code == "attachment_unreachable" for f in atts[str(att_id)].flags)


def test_invalid_utf8_bytes_are_replaced_and_flagged(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    # a DBA's half-done charset repair: the body column became binary and holds bytes invalid in UTF-8
    db.seed.execute("ALTER TABLE {p}thread_entry MODIFY body MEDIUMBLOB NOT NULL")
    db.seed.execute("UPDATE {p}thread_entry SET body = %s WHERE id = %s", (b"<p>caf\xe9 \xff</p>", ids["m1"]))
    with db.source() as src:
        msgs = {int(m.provenance.id): m for c in src.plan(100) if c.object_type == "message" for m in src.extract(c)}
    bad = msgs[ids["m1"]]
    assert "\ufffd" in bad.body_html and bad.body_html.startswith("<p>caf")
    assert any(f.code == "invalid_text_bytes" and f.field == "body" for f in bad.flags)
    assert not any(f.code == "invalid_text_bytes" for f in msgs[ids["r1"]].flags)


def test_merged_child_entries_are_extracted_under_the_parent(seeded_db):
    db = seeded_db()
    s = db.seed
    ids = build_case(db, with_files=False)
    parent = s.ticket(ids["carol"], "parent", flags=0x10)
    child = s.ticket(ids["dave"], "child", ticket_pid=parent, flags=0x1, status_id=3)
    child_thread = s.thread_of(child)
    s.execute("UPDATE {p}thread SET object_type = 'C', extra = %s WHERE id = %s",
              (json.dumps({"ticket_id": parent, "number": str(100000 + child)}), child_thread))
    own = s.entry(parent, "M", "<p>parent msg</p>", "2021-07-01 09:00:00", user_id=ids["carol"])
    moved = s.entry(parent, "M", "<p>child msg</p>", "2021-07-01 08:00:00", user_id=ids["dave"], flags=0x400 | 0x1)
    s.insert("thread_entry_merge", thread_entry_id=moved, data=json.dumps({"thread": child_thread}))
    with db.source() as src:
        plan = src.plan(100)
        msgs = {int(m.provenance.id): m for c in plan if c.object_type == "message" for m in src.extract(c)}
        tickets = {t.provenance.id: t for c in plan if c.object_type == "ticket" for t in src.extract(c)}
    assert msgs[moved].ticket == f"ticket:{parent}" and msgs[moved].merged_from == f"ticket:{child}"
    assert msgs[moved].position == 0 and msgs[own].position == 1
    kid = tickets[str(child)]
    assert (kid.parent, kid.relation, kid.status_state.value) == (f"ticket:{parent}", "merged", "closed")
    assert tickets[str(parent)].message_count == 2 and kid.message_count == 0


def test_tasks_become_ticket_records_of_kind_task(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    task = db.seed.insert("task", object_id=ids["t1"], object_type="T", number="T1", flags=1,
                          created="2021-03-03 10:00:00", updated="2021-03-03 10:00:00")
    db.seed.insert("thread", object_id=task, object_type="A", created="2021-03-03 10:00:00")
    db.seed.insert("thread_entry", thread_id=db.seed._one(f"SELECT id FROM {db.seed.t('thread')} WHERE "
                                                          "object_type='A' AND object_id=%s", (task,)),
                   staff_id=ids["alice"], type="N", poster="Alice", body="task note", created="2021-03-03 10:00:00",
                   updated="2021-03-03 10:00:00")
    with db.source() as src:
        plan = src.plan(100)
        tickets = [t for c in plan if c.object_type == "ticket" for t in src.extract(c)]
        msgs = [m for c in plan if c.object_type == "message" for m in src.extract(c)]
        counts = src.discover().counts
    t = next(t for t in tickets if t.kind == "task")
    assert t.key == f"ticket:task-{task}" and t.parent == f"ticket:{ids['t1']}" and t.relation == "task_of"
    note = next(m for m in msgs if m.ticket == t.key)
    assert note.visibility is Visibility.INTERNAL and note.position == 0
    assert counts["ticket"] == len(tickets) and counts["message"] == len(msgs)


def test_entries_of_deleted_tickets_are_left_out_and_counted(seeded_db):
    db = seeded_db()
    ids = build_case(db, with_files=False)
    db.seed.execute("DELETE FROM {p}ticket WHERE ticket_id = %s", (ids["t4"],))  # a hard delete that left its thread
    with db.source() as src:
        found = src.discover()
        msgs = [m for c in src.plan(100) if c.object_type == "message" for m in src.extract(c)]
    assert found.details["orphan_thread_entries"] == 1
    assert len(msgs) == found.counts["message"]
    assert all(m.ticket != f"ticket:{ids['t4']}" for m in msgs)


def test_duplicate_organization_names_are_flagged(seeded_db):
    db = seeded_db()
    first = db.seed.org("Globex")
    second = db.seed.org("globex ")
    with db.source() as src:
        orgs = {o.provenance.id: o for c in src.plan(100) if c.object_type == "organization" for o in src.extract(c)}
    assert any(f.code == "duplicate_name" for f in orgs[str(first)].flags)  # both carry it, naming the first
    dup = [f for f in orgs[str(second)].flags if f.code == "duplicate_name"]
    assert dup and f"organization:{first}" in dup[0].reason
