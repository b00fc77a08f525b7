"""Thread entries as the real osTicket stores them: entity-escaped plain text, titles, inline images by file key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hdm.destinations.salesforce.comment_body import comment_ref, display_title
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping
from hdm.model import Attachment, Message, MessageKind, Provenance, Visibility
from hdm.sources.osticket.bodies import as_written
from hdm.sources.osticket.inline import file_keys, match_inline_images
from hdm.sources.osticket.rendered import split_rendered
from hdm.sources.osticket.threads import stored_title
from hdm.threads import normalize_message
from hdm.threads.body import decode_stored_text

KEY = "Xy9_aBcD-EfGhIjKlMnOpQrStUvWxYz0"  # 32 chars, like file.key


def _text_msg(stored: str, **kw) -> Message:
    """A plain-text entry as the osTicket source emits it (its storage rules applied at extraction)."""
    return as_written(_stored_text_msg(stored, **kw))


def _stored_text_msg(stored: str, **kw) -> Message:
    return Message(Provenance("osticket", "thread_entry", "7"), ticket="ticket:1", kind=MessageKind.CUSTOMER,
                   visibility=Visibility.PUBLIC, body_text=stored, body_format="text", author_name="Ann",
                   created_at="2025-03-16T10:00:00Z", **kw)


@pytest.fixture
def tx():
    return SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(), ReferenceNames({}))


# -- plain text --------------------------------------------------------------------------------------

def test_plain_text_is_decoded_once_with_line_breaks_kept():
    # TextThreadEntryBody::getClean stores htmlspecialchars(body) (ENT_COMPAT, double_encode off)
    stored = "Error: &lt;timeout&gt; &amp; retry &gt; 3\r\nSaid &quot;hi&quot;\n\n-- \nsent from my phone"
    assert decode_stored_text(stored) == 'Error: <timeout> & retry > 3\nSaid "hi"\n\n-- \nsent from my phone'
    # what a person typed as "&gt;" is stored "&amp;gt;" and shown "&gt;": exactly one decoding
    assert decode_stored_text("type &amp;gt; to quote") == "type &gt; to quote"
    # text without entities (older rows) is left as it is
    assert decode_stored_text("a < b & c > d") == "a < b & c > d"


def test_a_plain_text_entry_arrives_as_osticket_shows_it(tx):
    stored = "Hello,\n\nif x &gt; 3 &amp;&amp; y &lt; 2 then &quot;fail&quot;\nthanks"
    norm = normalize_message(_text_msg(stored))
    assert norm.text == 'Hello,\n\nif x > 3 && y < 2 then "fail"\nthanks'
    # the HTML form escapes the decoded text once (not "&amp;gt;")
    assert "x &gt; 3 &amp;&amp; y &lt; 2" in norm.html and "&amp;gt;" not in norm.html
    (row,) = tx.transform("message", [_text_msg(stored)])["comments"]
    assert row["CommentBody"].endswith('if x > 3 && y < 2 then "fail"\nthanks')
    assert "&gt;" not in row["CommentBody"] and "&quot;" not in row["CommentBody"]


# -- titles ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "visibility", "title"), [
    (MessageKind.AGENT, Visibility.INTERNAL, "Ticket transferred"),
    (MessageKind.AGENT, Visibility.INTERNAL, "Ticket Assigned to Jane Agent"),
    (MessageKind.SYSTEM, Visibility.INTERNAL, "Status Changed"),
    (MessageKind.SYSTEM, Visibility.INTERNAL, "Ticket Marked Overdue"),
    (MessageKind.AGENT, Visibility.PUBLIC, "Re: VPN down"),
    (MessageKind.CUSTOMER, Visibility.PUBLIC, "VPN down since 9am"),
])
def test_every_entrys_title_is_in_its_comment_header(tx, kind, visibility, title):
    m = Message(Provenance("osticket", "thread_entry", "42"), ticket="ticket:1", kind=kind, visibility=visibility,
                body_html="<p>Body text.</p>", author_name="Jane Agent", created_at="2025-03-16T10:00:00Z",
                title=title)
    (row,) = tx.transform("message", [m])["comments"]
    header = row["CommentBody"].split("\n", 1)[0]
    assert f"· Title: {title} ·" in header
    assert comment_ref(row["CommentBody"]) == "message:42#0"  # the reference still ends the header line


def test_an_internal_note_with_a_title_and_an_empty_body_still_arrives(tx):
    for body in ("", "-", None):
        m = Message(Provenance("osticket", "thread_entry", "43"), ticket="ticket:1", kind=MessageKind.AGENT,
                    visibility=Visibility.INTERNAL, body_html=body, author_name="Jane Agent",
                    created_at="2025-03-16T10:00:00Z", title="Ticket transferred")
        rows = tx.transform("message", [m])["comments"]
        assert len(rows) == 1 and rows[0]["IsPublished"] is False
        assert "Title: Ticket transferred" in rows[0]["CommentBody"]


def test_titles_are_decoded_once_at_extraction_and_shown_on_one_line():
    assert stored_title("Tom &amp; Jerry &lt;3") == "Tom & Jerry <3"
    assert stored_title("a &amp;amp; b") == "a &amp; b"
    assert stored_title("  ") is None and stored_title(None) is None
    # the header prints the decoded title as it is: a second decode would turn the text '&amp;' into '&'
    assert display_title(stored_title("a &amp;amp; b")) == "a &amp; b"
    assert display_title("two\r\nlines\t here ") == "two lines here"
    assert display_title(None) == "" and display_title("") == ""


def test_a_title_that_looks_like_a_reference_does_not_confuse_the_header(tx):
    m = Message(Provenance("osticket", "thread_entry", "44"), ticket="ticket:1", kind=MessageKind.AGENT,
                visibility=Visibility.INTERNAL, body_html="<p>x</p>", author_name="A", title="see · ref message:1")
    (row,) = tx.transform("message", [m])["comments"]
    assert comment_ref(row["CommentBody"]) == "message:44#0"


# -- inline images -----------------------------------------------------------------------------------

class _F:
    def __init__(self, attachment_id, key):
        self.attachment_id, self.key = attachment_id, key


def test_inline_images_are_matched_to_the_entrys_or_the_threads_earlier_files():
    body = f'<p>See <img src="cid:{KEY}" alt=""> and <img src="cid:OLDKEY0000000000000000000000000000"></p>'
    own = file_keys([_F("9", KEY), _F("10", None)])
    earlier = {"OLDKEY0000000000000000000000000000": "attachment:3"}
    found, missing = match_inline_images(body, own, earlier)
    assert found == {KEY: "attachment:9", "OLDKEY0000000000000000000000000000": "attachment:3"} and missing == []
    found, missing = match_inline_images(f'<img src="cid:{KEY}"><img src="cid:gone">', own, {})
    assert found == {KEY: "attachment:9"} and missing == ["gone"]


def test_an_inline_image_whose_file_is_carried_raises_no_warning(tx):
    m = Message(Provenance("osticket", "thread_entry", "45"), ticket="ticket:1", kind=MessageKind.CUSTOMER,
                visibility=Visibility.PUBLIC, body_html=f'<p>Screenshot:<img src="cid:{KEY}" alt="shot"></p>',
                author_name="Ann", attachments=["attachment:9"], inline_images={KEY: "attachment:9"})
    (row,) = tx.transform("message", [m])["comments"]
    assert not [f for f in row["_flags"] if f["code"] == "cid_unresolved"]
    assert "[image: shot]" in row["CommentBody"]


def test_an_inline_image_with_no_file_still_warns(tx):
    m = Message(Provenance("osticket", "thread_entry", "46"), ticket="ticket:1", kind=MessageKind.CUSTOMER,
                visibility=Visibility.PUBLIC, author_name="Ann", inline_images={KEY: "attachment:9"},
                body_html=f'<p><img src="cid:{KEY}"><img src="cid:nosuchfile@mail.example"></p>')
    (row,) = tx.transform("message", [m])["comments"]
    (flag,) = [f for f in row["_flags"] if f["code"] == "cid_unresolved"]
    assert flag["reason"].startswith("1 inline image(s) reference no file")


def test_a_destination_without_a_url_for_a_known_file_says_so():
    att = Attachment(Provenance("osticket", "attachment", "9"), ticket="ticket:1", message="message:1",
                     file_name="shot.png", inline=True, content_id=KEY)
    m = Message(Provenance("osticket", "thread_entry", "47"), ticket="ticket:1", body_html=f'<img src="cid:{KEY}">')
    norm = normalize_message(m, [att], lambda a: None)
    assert [f.reason for f in norm.flags if f.code == "cid_unresolved"] == [
        "1 inline image(s) have a file but the destination has no URL for it"]
    assert not [f for f in normalize_message(m, [att]).flags if f.code == "cid_unresolved"]


def test_only_complete_references_are_decoded_as_a_browser_shows_osticket_output():
    # htmlspecialchars(double_encode=false) keeps complete references and escapes every other '&'
    assert decode_stored_text("R&D &not ready; &copy 2024 &copy;") == "R&D &not ready; &copy 2024 ©"
    assert decode_stored_text("&#39;q&#39; &#x2014; &foo;") == "'q' — &foo;"


RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "osticket_real" / "1.18" / "pages" / "000001.staff.html"


@pytest.mark.skipif(not RECORDED.is_file(), reason="no recorded real osTicket page")
def test_the_page_path_and_the_database_path_decode_plain_text_alike():
    # recorded osTicket 1.18.1 staff page of a plain-text entry; a person typed "&gt;" literally into it
    page = RECORDED.read_text(encoding="utf-8").replace("level &gt; 90%", "level &amp;gt; 90%", 1)
    result = split_rendered(page, "staff", "1.18", ticket="ticket:1")
    text_msg = next(s.message for s in result.segments if s.message.body_format == "text")
    from_page = normalize_message(text_msg).text
    from_db = decode_stored_text('Hello,\nthe printer shows: level &amp;gt; 90% &amp; &quot;replace&quot; &lt;now&gt;.'
                                 '\nThanks&lt;/now&gt;')
    assert from_page == from_db == 'Hello,\nthe printer shows: level &gt; 90% & "replace" <now>.\nThanks</now>'
