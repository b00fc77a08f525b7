"""Databases and pages written by the real osTicket (tests/fixtures/osticket_real): the loader, the storage formats
they show, and the generator and the page renderer checked against them.

The recordings come from ``python -m hdm_infra.osticket_real.record`` (osTicket's own installer, JSON API, e-mail
parser and staff panel). Every format asserted here was read back from those dumps, not from osTicket's source.
"""

from __future__ import annotations

import json
import re

import pytest
from hdm.sources.osticket.rendered import split_rendered
from hdm_infra.osticket.render import RenderOptions, render
from hdm_infra.testing.osticket_real import recorded_versions, recording_dir, recording_manifest
from hdm_infra.testing.threads import comparable

VERSIONS = recorded_versions()
RENDER_VERSION = {"1.16": "1.16.4", "1.18": "1.18"}  # renderer markup of the recorded release
DATETIME_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+-]*$")  # 'Y-m-d H:i:s T'
# tables whose rows depend on the recording session, left out of the dump on purpose
NOT_DUMPED = {"ost_session", "ost_syslog"}  # (not counted in the manifest either)


def test_both_releases_are_recorded():
    assert VERSIONS == ["1.16", "1.18"]


def _rows(db, sql: str, args: tuple = ()) -> list[tuple]:
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(sql.replace("{p}", db.prefix), args)
        return list(cur.fetchall())


def _answers(db, field_type_like: str) -> list[tuple[str, str | None, int | None]]:
    return _rows(db, "SELECT f.name, v.value, v.value_id FROM {p}form_entry_values v JOIN {p}form_field f "
                     "ON f.id=v.field_id JOIN {p}form_entry e ON e.id=v.entry_id AND e.object_type='T' "
                     "WHERE f.type LIKE %s", (field_type_like,))


@pytest.fixture(scope="module", params=VERSIONS)
def real(request, osticket_real_db):
    return osticket_real_db(request.param)


def test_loaded_dump_has_the_row_counts_of_the_manifest(real):
    counts = real.manifest["tables"]
    assert not set(counts) & NOT_DUMPED
    for table, expected in counts.items():
        assert _rows(real, f"SELECT COUNT(*) FROM `{table}`")[0][0] == expected, table
    assert counts["ost_ticket"] == len(real.manifest["tickets"]) == 19


def test_manifest_names_release_php_and_every_driven_feature(real):
    m = real.manifest
    assert m["osticket"]["major_version"] == real.version
    assert m["osticket"]["schema_signature"] == m["osticket"]["core_sig"]
    assert m["php"].startswith("8.2.")
    assert m["not_driven"] == []
    features = {f for t in m["tickets"] for f in t["features"]}
    for needed in ("source:API", "source:Email", "custom fields all types", "inline image cid:",
                   "iso-8859-1 e-mail", "windows-1252 e-mail", "internal note with title", "assignment (system note)",
                   "transfer (system note)", "task on ticket", "collaborator added by staff",
                   "Cc collaborator from e-mail", "entry edited by staff", "merged (child)", "linked (child)",
                   "body > 64 KB (plain)", "body > 64 KB (html)", "empty body", "plain-text entity escaping",
                   "reopened by client e-mail", "resolved with comment", "datetime in a forced zone (winter)"):
        assert needed in features, needed
    numbers = {n for (n,) in _rows(real, "SELECT number FROM {p}ticket")}
    assert {t["number"] for t in m["tickets"]} == numbers
    pages = recording_dir(real.version) / "pages"
    for number in numbers:
        assert (pages / f"{number}.staff.html").is_file() and (pages / f"{number}.client.html").is_file()


# ---- storage formats the real application writes ----------------------------------------------------------

def test_real_datetime_answers_are_text_with_zone_not_w3c(real):
    values = sorted((name, v) for name, v, _ in _answers(real, "datetime") if v)
    # the API's '2025-07-01 09:30' is read in the helpdesk zone (UTC) and stored in the field's forced zone
    assert values == [("deadline", "2025-01-15 19:00:00 CET"), ("deadline", "2025-07-01 11:30:00 CEST"),
                      ("incident_start", "2025-01-31 14:45:00 UTC"), ("incident_start", "2025-03-16 00:00:00 UTC")]
    assert all(DATETIME_TEXT.match(v) for _, v in values)


def test_real_choices_and_list_answers_are_json_objects(real):
    choices = [json.loads(v) for _, v, _ in _answers(real, "choices") if v]
    assert {"high": "High impact"} in choices and {"low": "Low impact"} in choices
    assert {"net": "Network", "vpn": "VPN & remote"} in choices  # multiselect: one object, raw '&' in JSON
    lists = [(json.loads(v), vid) for _, v, vid in _answers(real, "list-%") if v]
    assert len(lists) == 1
    (item,), vid = lists[0][0].items(), lists[0][1]
    assert vid is None and item[1] == "Printer"
    assert _rows(real, "SELECT value FROM {p}list_items WHERE id=%s", (int(item[0]),)) == [("Printer",)]


def test_real_checkbox_answer_is_never_null(real):
    values = [v for _, v, _ in _answers(real, "bool")]
    assert len(values) == 19 and set(values) == {"0", "1"} and values.count("1") == 1  # '0' when not answered


def test_real_priority_answer_keeps_text_and_id(real):
    answers = _answers(real, "priority")
    assert ("priority", "High", 3) in answers and ("priority", "Emergency", 4) in answers


def test_real_cdata_holds_keys_only(real):
    row = _rows(real, "SELECT impact, product, warranty, incident_start FROM {p}ticket__cdata WHERE impact='high'")
    item_id = _rows(real, "SELECT id FROM {p}list_items WHERE value='Printer'")[0][0]
    assert row == [("high", str(item_id), "1", "2025-03-16 00:00:00 UTC")]


def test_real_plain_text_bodies_are_entity_escaped(real):
    bodies = [b for (b,) in _rows(real, "SELECT body FROM {p}thread_entry WHERE format='text' "
                                        "AND body NOT IN ('', '-')")]
    joined = "\n".join(bodies)
    assert "level &gt; 90% &amp; &quot;replace&quot; &lt;now&gt;" in joined
    assert "Température &gt; 40°C &amp; &quot;alarme&quot; &lt;rouge&gt;" in joined  # iso-8859-1 mail, decoded
    assert "\u201c\u20ac 1\u2019200\u201d" in joined  # windows-1252 mail, decoded
    assert not re.search(r"[<>\"]", joined)  # nothing left unescaped (ENT_COMPAT: ' stays)


def test_real_empty_body_is_a_dash_and_big_bodies_move_to_an_inline_file(real):
    assert _rows(real, "SELECT COUNT(*) FROM {p}thread_entry WHERE body='-'")[0][0] == 1
    big = _rows(real, "SELECT e.format, e.body, f.type, f.size, f.name, a.inline FROM {p}thread_entry e "
                      "JOIN {p}attachment a ON a.object_id=e.id AND a.type='H' JOIN {p}file f ON f.id=a.file_id "
                      "WHERE f.type='text/html' ORDER BY e.format")
    assert [(fmt, body, inline) for fmt, body, _, _, _, inline in big] == [("html", "", 1), ("text", "", 1)]
    assert all(size >= 65_000 and re.fullmatch(r"[0-9a-f]{32}\.txt", name) for _, _, _, size, name, _ in big)


def test_real_reopen_and_resolve_leave_their_traces(real):
    features = {t["number"]: set(t["features"]) for t in real.manifest["tickets"]}
    reopened = next(n for n, f in features.items() if "reopened by client e-mail" in f)
    resolved = next(n for n, f in features.items() if "resolved with comment" in f)
    rows = dict((n, (state, r)) for n, state, r in _rows(
        real, "SELECT t.number, s.state, t.reopened IS NOT NULL FROM {p}ticket t JOIN {p}ticket_status s "
              "ON s.id=t.status_id"))
    assert rows[reopened] == ("open", 1) and rows[resolved] == ("closed", 0)
    events = {name for (name,) in _rows(real, "SELECT e.name FROM {p}thread_event v JOIN {p}event e "
                                              "ON e.id=v.event_id")}
    assert {"created", "closed", "reopened", "assigned", "transferred", "collab", "merged", "linked"} <= events


def test_real_system_notes_carry_their_titles(real):
    titles = {t for (t,) in _rows(real, "SELECT title FROM {p}thread_entry WHERE type='N'")}
    assert {"Ticket Assigned to Bob Builder", "Ticket claimed by Ada Admin",
            "Ticket transferred from Support to Sales", "Status Changed", "Vendor case opened"} <= titles


def test_real_merge_link_task_and_collaborators(real):
    flags = dict(_rows(real, "SELECT number, flags FROM {p}ticket"))
    features = {t["number"]: set(t["features"]) for t in real.manifest["tickets"]}
    child = next(n for n, f in features.items() if "merged (child)" in f)
    linked = next(n for n, f in features.items() if "linked (child)" in f)
    assert flags[child] & 0x1 and flags[linked] & 0x8
    assert _rows(real, "SELECT object_type FROM {p}thread t JOIN {p}ticket k ON k.ticket_id=t.object_id "
                       "AND t.object_type IN ('T','C') WHERE k.number=%s", (child,)) == [("C",)]
    assert _rows(real, "SELECT COUNT(*) FROM {p}task WHERE object_type='T'")[0][0] == 1
    assert _rows(real, "SELECT COUNT(*) FROM {p}thread_collaborator")[0][0] >= 2


# ---- the generator writes what the real application writes --------------------------------------------------

@pytest.fixture(scope="module")
def generated(osticket_db):
    return osticket_db(version="1.18", tickets=40, seed=5)


def test_generator_datetime_answers_have_the_recorded_format(generated):
    rows = _rows(generated, "SELECT e.object_id, v.value FROM {p}form_entry_values v JOIN {p}form_field f "
                            "ON f.id=v.field_id JOIN {p}form_entry e ON e.id=v.entry_id WHERE f.type='datetime' "
                            "AND v.value IS NOT NULL")
    texts = [v for _, v in rows if not v.isdigit()]  # digits: the legacy epoch answers the generator also makes
    assert texts and all(DATETIME_TEXT.match(v) for v in texts), texts[:3]
    zones = {v.rsplit(" ", 1)[1] for v in texts}
    assert "UTC" in zones and zones & {"CET", "CEST"} and zones & {"EST", "EDT"}, zones  # answers typed in many zones


def test_generator_choices_lists_and_checkboxes_have_the_recorded_format(generated):
    for _, value, value_id in _answers(generated, "choices") + _answers(generated, "list-%"):
        if value:
            parsed = json.loads(value)
            assert isinstance(parsed, dict) and parsed and value_id is None
    assert {v for _, v, _ in _answers(generated, "bool")} <= {"0", "1"}


def test_generator_plain_text_bodies_are_entity_escaped(generated):
    bodies = [b for (b,) in _rows(generated, "SELECT body FROM {p}thread_entry WHERE format='text' "
                                             "AND body NOT IN ('', '-')")]
    assert bodies
    assert all(not re.search(r"[<>\"]", b) for b in bodies)
    assert any("&lt;timeout&gt; &amp; retry &gt; 3" in b for b in bodies)


def test_generator_titles_are_stored_sanitized_like_the_real_ones(real, generated):
    real_titles = [t for (t,) in _rows(real, "SELECT title FROM {p}thread_entry WHERE title LIKE '%%&%%'")]
    assert 'Printer says "toner" &amp; ' in real_titles  # '&' escaped, quotes kept, '<low>' stripped
    titles = [t for (t,) in _rows(generated, "SELECT title FROM {p}thread_entry WHERE title LIKE '%%R&%%'")]
    assert titles and all("r&amp;d report" in t.lower() for t in titles)
    subjects = [v for (v,) in _rows(generated, "SELECT v.value FROM {p}form_entry_values v JOIN {p}form_field f "
                                               "ON f.id=v.field_id WHERE f.name='subject' AND v.value LIKE '%%R&%%'")]
    assert subjects and all("r&d report" in v.lower() for v in subjects)  # the answer stays raw, as recorded


def test_generator_empty_and_big_bodies_are_stored_like_the_real_ones(generated):
    assert _rows(generated, "SELECT COUNT(*) FROM {p}thread_entry WHERE body='-'")[0][0] > 0
    big = _rows(generated, "SELECT e.body, f.type, f.size, f.name, a.inline FROM {p}thread_entry e "
                           "JOIN {p}attachment a ON a.object_id=e.id AND a.type='H' JOIN {p}file f ON f.id=a.file_id "
                           "WHERE f.type='text/html' AND f.size >= 65000")
    assert big and all(body == "" and inline == 1 and re.fullmatch(r"[0-9a-f]{32}\.txt", name)
                       for body, _, _, name, inline in big)


def test_generator_cdata_holds_keys_only(generated):
    rows = _rows(generated, "SELECT product_area, region FROM {p}ticket__cdata WHERE product_area IS NOT NULL")
    assert rows
    labels = {"Hardware", "Software", "Network", "Billing"}
    assert all(not (set(area.split(",")) & labels) for area, _ in rows)
    assert all(region.isdigit() for _, region in rows if region)


# ---- the page renderer against the pages osTicket rendered --------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_renderer_staff_page_splits_like_the_real_page(version, osticket_real_db):
    """Split the real staff page, render the same messages with the renderer's markup of that release, split that:
    both must give the same entries (kind, visibility, author, time, title, text, attachments)."""
    from hdm.model import Provenance, Ticket

    db = osticket_real_db(version)
    pages = recording_dir(version) / "pages"
    checked = 0
    for ticket in recording_manifest(version)["tickets"]:
        real_html = (pages / f"{ticket['number']}.staff.html").read_text()
        real = split_rendered(real_html, "staff", RENDER_VERSION[version], ticket=f"ticket:{ticket['number']}")  # noqa: E501
        if not real.segments:  # a merged child: its entries moved to the parent's thread
            assert "merged (child)" in ticket["features"], ticket["number"]
            continue
        assert real.confidence >= 0.9, (ticket["number"], [r.code for r in real.reasons])
        messages = [s.message for s in real.segments]
        tk = Ticket(provenance=Provenance("osticket", "ticket", ticket["number"], version), number=ticket["number"],
                    subject="x")
        ours = render("staff", tk, messages, [], [], RenderOptions(version=RENDER_VERSION[version]))
        again = split_rendered(ours, "staff", RENDER_VERSION[version], ticket=tk.key)
        want = [comparable(m, [], s.attachment_names) for m, s in zip(messages, real.segments, strict=True)]
        got = [comparable(s.message, [], s.attachment_names) for s in again.segments]
        for w, g in zip(want, got, strict=True):
            w["attachments"] = g["attachments"] = []  # the renderer draws files from attachment records only
        assert got == want, ticket["number"]
        real_classes = [sorted(s.classes) for s in real.segments]
        assert [sorted(s.classes) for s in again.segments] == real_classes, ticket["number"]
        checked += len(messages)
    assert checked >= 19 and db.version == version
