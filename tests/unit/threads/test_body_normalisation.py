"""Bodies are normalised for each destination: safe HTML where HTML is kept, faithful text where not."""

from __future__ import annotations

import html

from hdm.model import Attachment, Message, MessageKind, Provenance, Visibility
from hdm.threads import find_cids, normalize_message, sanitize_html, text_to_html, to_plain_text


def _msg(body_html=None, body_text=None, fmt="html", visibility=Visibility.PUBLIC, attachments=()):
    return Message(provenance=Provenance("osticket", "thread_entry", "1"), ticket="ticket:1",
                   kind=MessageKind.AGENT, visibility=visibility, body_html=body_html, body_text=body_text,
                   body_format=fmt, attachments=list(attachments), author_name="Jane")


def _img(att_id: str, cid: str, name: str = "chart.png") -> Attachment:
    return Attachment(provenance=Provenance("osticket", "attachment", att_id), ticket="ticket:1", message="message:1",
                      file_name=name, inline=True, content_id=cid)


def test_scripts_handlers_and_javascript_links_never_reach_a_destination() -> None:
    dirty = ('<p onclick="steal()">Hi<script>alert(1)</script></p><img src="x" onerror="alert(2)">'
             '<a href="javascript:alert(3)">x</a><iframe src="https://evil.example"></iframe>'
             '<form action="/x"><input name="p"></form><style>p{}</style>'
             '<span style="color:red;position:fixed">r</span>')
    safe = sanitize_html(dirty)
    for bad in ("script", "onclick", "onerror", "javascript:", "iframe", "<form", "<input", "<style", "position"):
        assert bad not in safe
    assert "Hi" in safe and "color:red" in safe


def test_plain_text_keeps_paragraphs_lists_links_and_quotes_readable() -> None:
    html = ('<p>Hello <b>Bob</b>,</p><p>Steps:</p><ol><li>Open <a href="https://vpn.example/help">the guide</a></li>'
            '<li>Restart<ul><li>client</li><li>router</li></ul></li></ol>'
            '<blockquote><p>On Monday you wrote:</p><p>It fails<br>since 9am</p></blockquote>'
            '<table><tr><th>Host</th><th>Result</th></tr><tr><td>vpn-1</td><td>timeout</td></tr></table>'
            '<p>Mail <a href="mailto:help@example.com">help@example.com</a></p>')
    assert to_plain_text(html) == (
        "Hello Bob,\n\nSteps:\n\n1. Open the guide (https://vpn.example/help)\n2. Restart\n   - client\n   - router\n\n"
        "> On Monday you wrote:\n>\n> It fails\n> since 9am\n\nHost | Result\nvpn-1 | timeout\n\n"
        "Mail help@example.com")


def test_inline_cid_images_resolve_to_the_tickets_files() -> None:
    att = _img("77", "k00001abcdefghijklmnopqrstuvwxyz")
    msg = _msg('<p>See <img src="cid:k00001abcdefghijklmnopqrstuvwxyz" alt=""></p>', attachments=[att.key])
    norm = normalize_message(msg, [att], lambda a: f"/sfc/servlet.shepherd/version/download/{a.provenance.id}")
    assert '<img src="/sfc/servlet.shepherd/version/download/77"' in norm.html
    assert "[image: chart.png]" in norm.text
    assert not [f for f in norm.flags if f.code == "cid_unresolved"]


def test_an_image_pointing_at_no_file_loses_its_src_and_is_flagged() -> None:
    msg = _msg('<p>x<img src="cid:missingkey" alt="diagram"></p>')
    norm = normalize_message(msg, [], lambda a: "never")
    assert "cid:" not in norm.html and 'alt="diagram"' in norm.html
    assert [f.code for f in norm.flags] == ["cid_unresolved"]
    assert find_cids(msg.body_html) == ["missingkey"]


def test_the_dash_osticket_stores_for_an_empty_message_becomes_an_empty_body() -> None:
    from hdm.sources.osticket.bodies import as_written

    for stored in (_msg("-"), _msg(body_text=" -\n", fmt="text")):
        norm = normalize_message(as_written(stored))  # the osTicket source applies its storage rule
        assert (norm.html, norm.text, norm.empty) == ("", "", True)
        assert [f.code for f in norm.flags] == ["empty_body"]


def test_the_generic_body_path_applies_no_source_storage_rule() -> None:
    # a Thread-like source: raw text as typed, format "text"; a "-" and a typed "&lt;b&gt;" are kept verbatim
    for typed in ("-", "&lt;b&gt;", "a &amp; b\n-"):
        msg = Message(provenance=Provenance("thread", "message", "1"), ticket="ticket:1", kind=MessageKind.CUSTOMER,
                      visibility=Visibility.PUBLIC, body_text=typed, body_format="text")
        norm = normalize_message(msg)
        assert norm.text == typed and not norm.empty
        assert html.unescape(norm.html.removeprefix('<div style="white-space:pre-wrap">').removesuffix("</div>")) \
            == typed
    dash_html = normalize_message(_msg("<p>-</p>"))
    assert "-" in dash_html.text and not dash_html.empty


def test_text_format_bodies_are_escaped_not_interpreted() -> None:
    raw = "if a < b && c > d then <script>alert(1)</script>\n\nsecond paragraph"
    norm = normalize_message(_msg(body_text=raw, fmt="text"))
    assert "<script>" not in norm.html and "&lt;script&gt;" in norm.html
    assert norm.text == raw
    assert text_to_html("a<b") == '<div style="white-space:pre-wrap">a&lt;b</div>'


def test_a_restored_body_over_65000_characters_is_kept_whole() -> None:
    body = "<p>start</p>" + "<p>" + ("Данные und Ωμέγα text. " * 12000) + "</p><p>THE-END</p>"
    assert len(body) > 250_000
    norm = normalize_message(_msg(body))
    assert norm.html.endswith("<p>THE-END</p>")
    assert norm.text.endswith("THE-END") and norm.text.startswith("start")
    assert len(norm.text) > 250_000


def test_non_latin_text_survives_both_forms() -> None:
    html = "<p>Привет — 接続の問題 — مشكلة &amp; Grüße</p>"
    assert sanitize_html(html) == html
    assert to_plain_text(html) == "Привет — 接続の問題 — مشكلة & Grüße"


def test_only_public_visibility_publishes() -> None:
    assert normalize_message(_msg("<p>x</p>")).public is True
    assert normalize_message(_msg("<p>x</p>", visibility=Visibility.INTERNAL)).public is False
    broken = _msg("<p>x</p>")
    broken.visibility = "public"  # a plain string (bad input) is not trusted to publish
    assert normalize_message(broken).public is False
