"""Rows as the real osTicket application writes them (not the generator's friendlier ones), through the extractor
and the Salesforce transform: form answers, entity-escaped plain text, entry titles, inline images by file key."""

from __future__ import annotations

import json

import pytest
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping


def _field(s, form_type: str, ftype: str, name: str, config: dict | None = None) -> int:
    form = s._one(f"SELECT id FROM {s.t('form')} WHERE type = %s", (form_type,))
    return s.insert("form_field", form_id=form, type=ftype, label=name.title(), name=name, flags=0x3301,
                    configuration=json.dumps(config) if config else None, sort=50,
                    created="2021-01-01 00:00:00", updated="2021-01-01 00:00:00")


def _answer(s, ticket_id: int, field_id: int, value, value_id=None) -> None:
    entry = s._one(f"SELECT id FROM {s.t('form_entry')} WHERE object_type = 'T' AND object_id = %s", (ticket_id,))
    s.insert("form_entry_values", entry_id=entry, field_id=field_id, value=value, value_id=value_id)


def _extract(db, object_type):
    with db.source() as src:
        return {r.provenance.id: r for c in src.plan(100) if c.object_type == object_type for r in src.extract(c)}


@pytest.fixture
def real_db(seeded_db):
    db = seeded_db(version="1.18")
    s = db.seed
    s.execute("DELETE FROM {p}config WHERE namespace = 'core' AND `key` = 'default_timezone'")
    s.insert("config", namespace="core", key="default_timezone", value="America/Chicago")
    dept = s.department("Support")
    alice = s.staff("alice", dept)
    carol = s.user("Carol Customer", "carol@acme.example.test", s.org("Acme"))
    fields = {
        "purchased": _field(s, "T", "datetime", "purchased", {"time": True}),
        "renewal": _field(s, "T", "datetime", "renewal", {"time": False}),
        "broken_date": _field(s, "T", "datetime", "broken_date"),
        "local_date": _field(s, "T", "datetime", "local_date", {"time": True}),
        "vip": _field(s, "T", "bool", "vip"),
        "areas": _field(s, "T", "choices", "areas", {"choices": "hw:Hardware\nsw:Software", "multiselect": True}),
        "area": _field(s, "T", "choices", "area", {"choices": "hw:Hardware\nsw:Software"}),
        "region": _field(s, "T", "list-1", "region"),
        "callback": _field(s, "T", "phone", "callback"),
    }
    t1 = s.ticket(carol, "Real formats", dept_id=dept)
    _answer(s, t1, fields["purchased"], "2025-03-16 00:00:00 UTC")  # DatetimePickerWidget: 'Y-m-d H:i:s T'
    _answer(s, t1, fields["renewal"], "2025-07-01 00:00:00 CDT")  # the helpdesk's zone (America/Chicago)
    _answer(s, t1, fields["broken_date"], "sometime next week")
    _answer(s, t1, fields["local_date"], "2025-01-10 08:00:00 CST")  # ambiguous alone; the helpdesk's zone decides
    _answer(s, t1, fields["vip"], "1")
    _answer(s, t1, fields["areas"], json.dumps({"hw": "Hardware", "sw": "Software"}))
    _answer(s, t1, fields["area"], "sw")  # a key stored bare
    _answer(s, t1, fields["region"], json.dumps({"12": "EMEA"}))
    _answer(s, t1, fields["callback"], "5551234567X42")
    ids = {"t1": t1, "carol": carol, "alice": alice}
    # a plain-text message as TextThreadEntryBody::getClean stores it (htmlspecialchars, line breaks kept)
    ids["text"] = s.entry(t1, "M", "Hi,\n\nerror: &lt;timeout&gt; &amp; retry &gt; 3\nsaid &quot;no&quot;",
                          "2021-03-01 10:00:00", user_id=carol, poster="Carol Customer", flags=1, fmt="text")
    # an inline image: <img src="cid:file.key"> with the file linked inline=1
    img = s.file(b"\x89PNG real bytes", "screenshot.png", "image/png")
    key = s._one(f"SELECT `key` FROM {s.t('file')} WHERE id = %s", (img,))
    ids["img_key"] = key
    ids["img"] = s.entry(t1, "R", f'<p>Look here:</p><p><img src="cid:{key}" alt="screenshot.png"></p>',
                         "2021-03-01 11:00:00", staff_id=alice, poster="Alice Agent")
    s.attach(t1, ids["img"], img, inline=True)
    # a later reply quoting the same image (osTicket resolves the key against every file)
    ids["quote"] = s.entry(t1, "R", f'<blockquote><img src="cid:{key}"></blockquote><p>as above</p>',
                           "2021-03-01 11:30:00", staff_id=alice, poster="Alice Agent")
    # an image whose file is truly gone
    ids["gone"] = s.entry(t1, "R", '<p><img src="cid:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"></p>', "2021-03-01 11:40:00",
                          staff_id=alice, poster="Alice Agent")
    # system notes with titles: transfer (with and without a comment), assignment, status change
    ids["transfer"] = s.entry(t1, "N", "", "2021-03-01 12:00:00", staff_id=alice, poster="Alice Agent")
    ids["assign"] = s.entry(t1, "N", "<p>Please take this one.</p>", "2021-03-01 12:05:00", staff_id=alice,
                            poster="Alice Agent")
    ids["status"] = s.entry(t1, "N", "-", "2021-03-01 12:10:00", poster="SYSTEM", flags=0x80)
    for eid, title in ((ids["text"], "VPN down &amp; slow"), (ids["img"], "Re: VPN down"),
                       (ids["transfer"], "Ticket transferred to Tier 2"),
                       (ids["assign"], "Ticket Assigned to Alice Agent"), (ids["status"], "Status Changed")):
        s.execute("UPDATE {p}thread_entry SET title = %s WHERE id = %s", (title, eid))
    return db, ids


def test_real_form_answers_become_typed_values_and_one_bad_value_costs_only_its_field(real_db):
    db, ids = real_db
    ticket = _extract(db, "ticket")[str(ids["t1"])]
    c = ticket.custom
    assert c["purchased"] == "2025-03-16T00:00:00Z"
    assert c["renewal"] == "2025-07-01"  # a date-only field is a date: the day as written, not 05:00 UTC
    assert c["local_date"] == "2025-01-10T14:00:00Z"
    assert c["vip"] is True
    assert c["areas"] == ["Hardware", "Software"] and c["area"] == "Software" and c["region"] == "EMEA"
    assert c["callback"] == "(555) 123-4567 x42"
    # the unreadable answer: empty, flagged with the stored text; the ticket itself is whole
    assert c["broken_date"] is None
    (flag,) = [f for f in ticket.flags if f.field == "broken_date"]
    assert flag.code == "unparsed_value" and "'sometime next week'" in flag.reason
    assert ticket.subject == "Real formats"
    # the Case row carries typed values the org accepts (no raw zone text left anywhere)
    tx = SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(), ReferenceNames({}))
    (row,) = tx.transform("ticket", [ticket])["cases"]
    assert not [v for v in row.values() if isinstance(v, str) and v.endswith((" UTC", " CDT", " CST"))]


def test_entries_arrive_as_osticket_shows_them(real_db):
    db, ids = real_db
    msgs = _extract(db, "message")
    tx = SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(), ReferenceNames({}))
    rows = {r["_message"]: r for r in tx.transform("message", list(msgs.values()))["comments"]}

    def body(eid):
        return rows[f"message:{eid}"]["CommentBody"]

    def header(eid):
        return body(eid).split("\n", 1)[0]

    assert body(ids["text"]).endswith('Hi,\n\nerror: <timeout> & retry > 3\nsaid "no"')
    assert "· Title: VPN down & slow ·" in header(ids["text"])
    assert "· Title: Re: VPN down ·" in header(ids["img"])
    # titles of internal notes, with and without a body, all arrive
    assert "· Title: Ticket transferred to Tier 2 ·" in header(ids["transfer"])
    assert "· Title: Ticket Assigned to Alice Agent ·" in header(ids["assign"])
    assert body(ids["assign"]).endswith("Please take this one.")
    assert "· Title: Status Changed ·" in header(ids["status"])
    assert all(rows[f"message:{ids[k]}"]["IsPublished"] is False for k in ("transfer", "assign", "status"))
    # inline images: carried files raise no warning (own entry, or an earlier entry of the thread) …
    key = ids["img_key"]
    assert msgs[str(ids["img"])].inline_images == {key: msgs[str(ids["img"])].attachments[0]}
    assert key in msgs[str(ids["quote"])].inline_images

    def codes(eid):
        return [f["code"] for f in rows[f"message:{eid}"]["_flags"]]

    assert "cid_unresolved" not in codes(ids["img"]) and "cid_unresolved" not in codes(ids["quote"])
    assert "[image: screenshot.png]" in body(ids["img"])
    # … a truly missing one still warns
    assert "cid_unresolved" in codes(ids["gone"])
