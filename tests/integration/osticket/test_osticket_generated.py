"""The extractor over generated osTicket databases: every record accounted for against SQL and the manifest."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from hdm.sources.osticket import OsTicketSource


class CountingBlobs:
    def __init__(self) -> None:
        self.staged = 0

    def put_blob(self, chunks):
        n = sum(len(c) for c in chunks)
        self.staged += 1
        return f"blobs/{self.staged}", "0" * 64, n


@pytest.fixture(scope="module", params=[("1.18", "ost_"), ("1.14", "helpdesk_"), ("legacy-1.9", "ost_")],
                ids=["1.18", "1.14", "legacy-1.9"])
def extracted(request, osticket_db):
    version, prefix = request.param
    db = osticket_db(version=version, prefix=prefix, tickets=60)
    params = {"host": db.host, "port": db.port, "user": db.user, "password": db.password, "database": db.database}
    records: dict[str, list] = defaultdict(list)
    skipped: Counter = Counter()
    with OsTicketSource(params, attachments_dir=str(db.files_dir)) as src:
        discovery = src.discover()
        for chunk in src.plan(17):
            records[chunk.object_type].extend(src.extract(chunk, CountingBlobs()))
            skipped.update(src.last_stats.skipped)
    return db, discovery, records, skipped


def test_every_type_yields_what_discovery_counts_in_sql(extracted):
    _, discovery, records, _ = extracted
    for object_type, expected in discovery.counts.items():
        assert len(records.get(object_type, [])) == expected, object_type


def test_counts_agree_with_the_generator_manifest(extracted):
    db, _, records, skipped = extracted
    m = db.manifest.objects
    got = Counter({k: len(v) for k, v in records.items()})
    for same in ("organization", "contact", "agent", "team", "sla_policy", "category", "status", "priority"):
        assert got[same] == m[same], same
    assert got["ticket"] == m["ticket"] + m.get("task", 0)  # tasks are Ticket(kind="task")
    assert got["message"] == m["message"] + m.get("task_message", 0)
    assert got["event"] == m["event"] + m.get("task", 0)  # one 'created' event per task thread
    # the inline file holding a >= 65,000-char body is the body, not an attachment: skipped and counted
    assert got["attachment"] + skipped["body_storage_file"] == m["attachment"]
    assert sum(1 for r in records["response_template"] if r.kind == "canned_response") == m["response_template"]
    assert sum(1 for r in records["automation_rule"] if r.kind == "filter") == m["automation_rule"]
    with db.connect() as conn, conn.cursor() as cur:  # presentation-only fields (the message body) are not data
        cur.execute(f"SELECT name FROM {db.table('form_field')} WHERE type IN ('thread', 'break', 'info')")
        presentation = {r[0] for r in cur.fetchall()}
    names = {name for group in db.manifest.notes["custom_fields"].values() for name in group} - presentation
    assert names and names <= {r.name for r in records["custom_field"]}

def test_per_ticket_truth_subject_state_and_thread_length(extracted):
    db, _, records, _ = extracted
    tickets = {int(t.provenance.id): t for t in records["ticket"] if t.kind == "ticket"}
    per_ticket = Counter(m.ticket for m in records["message"])
    for tid, truth in (db.manifest.tickets or {}).items():
        t = tickets[int(tid)]
        assert t.subject == truth.subject
        assert t.status_state.value == truth.status_state
        assert t.message_count == truth.visible_entries == per_ticket[t.key]


def test_special_cases_are_extracted_and_flagged(extracted):
    db, _, records, skipped = extracted
    special = db.manifest.special
    msgs = {int(m.provenance.id): m for m in records["message"]}
    assert skipped["hidden_superseded_edit"] == db.manifest.special_counts.get("hidden_entry_ids", 0)
    for eid in special.get("hidden_entry_ids", []):
        assert eid not in msgs
    for item in special.get("invalid_utf8", []):
        assert any(f.code == "invalid_text_bytes" for f in msgs[item["id"]].flags)
    for eid in special.get("merged_entry_ids", []):
        assert msgs[eid].merged_from is not None
    for eid in special.get("long_body_entry_ids", []):
        body = msgs[eid].body_html or msgs[eid].body_text
        assert body and len(body) >= 65_000
    for eid in special.get("dangling_staff_entry_ids", []):
        assert msgs[eid].author is None and msgs[eid].author_name
        assert any(f.code == "dangling_fk" for f in msgs[eid].flags)
    for eid in special.get("system_note_entry_ids", []):
        assert msgs[eid].visibility.value == "internal"
    tickets = {int(t.provenance.id): t for t in records["ticket"] if t.kind == "ticket"}
    for tid in special.get("merged_child_ticket_ids", []):
        assert tickets[tid].relation == "merged" and tickets[tid].parent
    for tid in special.get("no_priority_ticket_ids", []):
        assert any(f.code == "default_priority" for f in tickets[tid].flags)
    broken = [a for a in records["attachment"] if any(f.severity == "error" for f in a.flags)]
    expected_broken = sum(db.manifest.special_counts.get(k, 0) for k in ("missing_chunk", "size_mismatch",
                                                                          "missing_fs_file"))
    assert len(broken) >= min(expected_broken, 1)
    staged = [a for a in records["attachment"] if a.blob]
    assert staged and all(a.sha256 for a in staged)


def test_internal_notes_are_never_public(extracted):
    _, _, records, _ = extracted
    for m in records["message"]:
        if m.kind.value == "system":
            assert m.visibility.value == "internal"
    notes = {m.key for m in records["message"] if m.visibility.value == "internal"}
    for a in records["attachment"]:
        if a.message in notes:
            assert a.visibility.value == "internal"


def test_task_threads_and_their_files_stay_internal(extracted):
    db, _, records, _ = extracted
    tasks = {t.key for t in records["ticket"] if t.kind == "task"}
    if db.version == "legacy-1.9":
        assert not tasks  # the legacy layout has no tasks
        return
    assert tasks, "the generated data has tasks"
    task_messages = [m for m in records["message"] if m.ticket in tasks]
    assert task_messages
    assert all(m.visibility.value == "internal" for m in task_messages)
    assert all(a.visibility.value == "internal" for a in records["attachment"] if a.ticket in tasks)


def test_an_attachment_is_public_only_when_its_entry_is(extracted):
    _, _, records, _ = extracted
    visibility = {m.key: m.visibility.value for m in records["message"]}
    for a in records["attachment"]:
        if a.visibility.value == "public":
            assert visibility.get(a.message) == "public", a.key
