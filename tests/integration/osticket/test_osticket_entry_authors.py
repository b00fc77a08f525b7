"""Entry authors and titles as osTicket's ticket page shows them (issue #9 item 4), modern and legacy layouts.

The page names an entry by its linked user's name, else its agent's name, else the ``poster`` text, each through the
help desk's name format (``client_name_format``, default as entered; ``agent_name_format``, default first last). A
title is stored entity-escaped and shown decoded once.
"""

from __future__ import annotations

import pytest


def _messages(db) -> dict[int, object]:
    with db.source() as src:
        return {int(m.provenance.id): m for c in src.plan(100) if c.object_type == "message" for m in src.extract(c)}


def _seed(db, client_format: str | None = None, agent_format: str | None = None) -> dict[str, int]:
    s = db.seed
    table = "ticket_thread" if db.version.startswith("legacy") else "thread_entry"
    for key, value in (("client_name_format", client_format), ("agent_name_format", agent_format)):
        if value:
            s.insert("config", namespace="core", key=key, value=value)
    dept = s.department("Support")
    alice = s.staff("alice", dept)  # Alice Agent
    gerard = s.user("Gérard Légacy", "gerard@example.fr")
    nameless = s.user("", "nobody.home@example.test")
    t = s.ticket(gerard, "Printer")
    ids = {
        # a reply piped from a bare address: poster is the address, the page shows the user's name
        "piped": s.entry(t, "M", "<p>re</p>", "2021-03-01 10:00:00", user_id=gerard, poster="gerard@example.fr"),
        "nameless": s.entry(t, "M", "<p>hi</p>", "2021-03-01 10:01:00", user_id=nameless, poster="Someone"),
        # an agent reply whose poster text differs from the agent's name: the page shows the agent's name
        "agent": s.entry(t, "R", "<p>ok</p>", "2021-03-01 11:00:00", staff_id=alice, poster="Support Desk"),
        "gone": s.entry(t, "R", "<p>x</p>", "2021-03-01 12:00:00", staff_id=999, poster="Gone Agent"),
        "anonymous": s.entry(t, "M", "<p>y</p>", "2021-03-01 13:00:00", poster="Walk In"),
    }
    s.execute(f"UPDATE {{p}}{table} SET title = %s WHERE id = %s",
              ('Printer says "toner" &amp; &amp;amp;', ids["piped"]))
    return ids


@pytest.mark.parametrize("version", ["1.18", "legacy-1.9"])
def test_authors_are_named_as_the_staff_page_names_them(seeded_db, version):
    db = seeded_db(version=version)
    ids = _seed(db)
    msgs = _messages(db)
    piped = msgs[ids["piped"]]
    assert piped.author_name == "Gérard Légacy" and piped.author_email == "gerard@example.fr"
    assert msgs[ids["nameless"]].author_name == "nobody.home"  # no name: the e-mail's local part
    assert msgs[ids["agent"]].author_name == "Alice Agent"
    assert msgs[ids["gone"]].author_name == "Gone Agent"  # no agent any more: the poster text
    assert msgs[ids["anonymous"]].author_name == "Walk In"
    # stored escaped, decoded exactly once: '&amp;amp;' was typed as '&amp;'
    assert piped.title == 'Printer says "toner" & &amp;'


def test_the_help_desks_name_formats_are_followed(seeded_db):
    db = seeded_db(version="1.18")
    ids = _seed(db, client_format="lastfirst", agent_format="shortformal")
    msgs = _messages(db)
    assert msgs[ids["piped"]].author_name == "Légacy, Gérard"
    assert msgs[ids["agent"]].author_name == "A. Agent"
