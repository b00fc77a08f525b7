"""Collaborators arrive with their role and state; a collaborator whose user is gone is flagged, not dropped
silently; linked tickets keep their parent (issue #9 item 5)."""

from __future__ import annotations

import pytest
from test_osticket_extract_cases import build_case


def _tickets(db):
    with db.source() as src:
        plan = src.plan(100)
        out = {}
        stats = []
        for c in plan:
            if c.object_type == "ticket":
                out.update({t.provenance.id: t for t in src.extract(c)})
                stats.append(src.last_stats)
    return out, stats


def test_collaborators_keep_role_state_and_cc_and_a_deleted_user_is_flagged(seeded_db):
    db = seeded_db()
    s = db.seed
    ids = build_case(db, with_files=False)
    erin = s.user("Erin Extern", "erin@partner.example.test")
    thread = s.thread_of(ids["t1"])
    at = "2021-03-01 10:05:00"
    s.insert("thread_collaborator", thread_id=thread, user_id=ids["dave"], flags=0x3, role="M", created=at, updated=at)
    s.insert("thread_collaborator", thread_id=thread, user_id=erin, flags=0x0, role="N", created=at, updated=at)
    s.insert("thread_collaborator", thread_id=thread, user_id=4242, flags=0x1, role="M", created=at, updated=at)
    tickets, stats = _tickets(db)
    t1 = tickets[str(ids["t1"])]
    assert t1.collaborators == [f"contact:{ids['dave']}", f"contact:{erin}"]
    by = {d["contact"]: d for d in t1.collaborator_details}
    dave, ext = by[f"contact:{ids['dave']}"], by[f"contact:{erin}"]
    assert (dave["role"], dave["active"], dave["cc"]) == ("M", True, True)
    assert (ext["role"], ext["active"], ext["cc"]) == ("N", False, False)
    assert ext["role_name"].startswith("third party") and dave["created_at"] == "2021-03-01T10:05:00Z"
    assert any(f.code == "dangling_fk" and "4242" in f.reason and f.field == "collaborators" for f in t1.flags)
    assert sum(st.rows_read["thread_collaborator"] for st in stats) == 3


def test_linked_ticket_keeps_its_parent(seeded_db):
    db = seeded_db()
    s = db.seed
    ids = build_case(db, with_files=False)
    parent = s.ticket(ids["carol"], "parent", flags=0x10)
    child = s.ticket(ids["dave"], "linked child", ticket_pid=parent, flags=0x8)
    tickets, _ = _tickets(db)
    kid = tickets[str(child)]
    assert (kid.parent, kid.relation) == (f"ticket:{parent}", "linked")


@pytest.mark.parametrize("version", ["legacy-1.9"])
def test_legacy_ticket_collaborators_are_carried(seeded_db, version):
    db = seeded_db(version=version)
    s = db.seed
    ids = build_case(db, with_files=False)
    s.insert("ticket_collaborator", ticket_id=ids["t1"], user_id=ids["dave"], isactive=0, role="M",
             updated="2021-03-01 10:05:00")
    tickets, _ = _tickets(db)
    d = tickets[str(ids["t1"])].collaborator_details
    assert [(x["contact"], x["active"]) for x in d] == [(f"contact:{ids['dave']}", False)]
