"""Generated osTicket databases through the extractor and the Salesforce transform: titles, inline images, plain
text and form answers arrive as osTicket shows them, with no false warnings."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from hdm.destinations.salesforce.comment_body import display_title
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping
from hdm.sources.osticket import OsTicketSource

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")


class _Blobs:
    def put_blob(self, chunks):
        return "blobs/x", "0" * 64, sum(len(c) for c in chunks)


@pytest.fixture(scope="module", params=["1.18", "1.14"])
def generated(request, osticket_db):
    db = osticket_db(version=request.param, tickets=60)
    params = {"host": db.host, "port": db.port, "user": db.user, "password": db.password, "database": db.database}
    records: dict[str, list] = defaultdict(list)
    with OsTicketSource(params, attachments_dir=str(db.files_dir)) as src:
        for chunk in src.plan(17):
            records[chunk.object_type].extend(src.extract(chunk, _Blobs()))
    tx = SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(), ReferenceNames({}))
    comments = tx.transform("message", records["message"])["comments"]
    return db, records, {r["_message"]: r for r in comments if r["_part"] == 0}


def test_inline_images_of_generated_tickets_raise_no_false_warning(generated):
    db, records, rows = generated
    inline_ids = db.manifest.special.get("inline_image_entry_ids") or []
    assert inline_ids, "the generator wrote no inline image"
    msgs = {int(m.provenance.id): m for m in records["message"]}
    for eid in inline_ids:
        m = msgs.get(eid)
        if m is None:  # a superseded edit: not extracted
            continue
        assert m.inline_images, eid
        codes = [f["code"] for f in rows[m.key]["_flags"]]
        assert "cid_unresolved" not in codes, eid
    assert not [k for k, r in rows.items() if any(f["code"] == "cid_unresolved" for f in r["_flags"])]


def test_every_generated_entrys_title_is_in_its_comment_header(generated):
    _, records, rows = generated
    titled = [m for m in records["message"] if display_title(m.title)]
    assert titled
    for m in titled:
        header = rows[m.key]["CommentBody"].split("\n", 1)[0]
        assert f"· Title: {display_title(m.title)} ·" in header, m.key


def test_generated_plain_text_entries_read_as_osticket_shows_them(generated):
    db, records, rows = generated
    text_ids = set(db.manifest.special.get("text_body_entry_ids") or [])
    msgs = [m for m in records["message"] if int(m.provenance.id) in text_ids]
    assert msgs
    for m in msgs:
        body = rows[m.key]["CommentBody"]
        assert "Error: <timeout> & retry > 3" in body
        assert not re.search(r"&(lt|gt|amp|quot);", body), m.key


def test_generated_form_answers_are_typed_and_none_is_passed_on_raw(generated):
    _, records, _ = generated
    fields = {d.name: d.type for d in records["custom_field"]}
    seen_dates = 0
    for rec in records["ticket"] + records["contact"] + records["organization"]:
        assert not [f for f in rec.flags if f.code == "unparsed_value"], rec.key
        for name, value in (rec.custom or {}).items():
            if fields.get(name) == "datetime" and value is not None:
                assert ISO_Z.fullmatch(value), (rec.key, name, value)
                seen_dates += 1
            if fields.get(name) == "date" and value is not None:
                assert ISO_DATE.fullmatch(value), (rec.key, name, value)
                seen_dates += 1
            if fields.get(name) == "bool":
                assert value in (True, False, None), (rec.key, name, value)
            if fields.get(name) == "phone" and value:
                assert "X" not in value, (rec.key, name, value)
    assert seen_dates
