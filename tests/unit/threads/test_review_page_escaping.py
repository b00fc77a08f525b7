"""The review page is a Jinja2 template with autoescape on: ticket subjects, author names, titles, flag codes,
file names, split reasons and stored bodies are shown as text; only the nh3-sanitised body of a segment is shown
as markup, and the original page only inside the sandboxed frame."""

from __future__ import annotations

import lxml.html
import pytest
from hdm.model import Attachment, Flag, Message, MessageKind, Provenance, Ticket, Visibility
from hdm.threads.confidence import Reason
from hdm.threads.review import INTERNAL_LABEL, SampleItem, TicketThread, build_review_page
from hdm.threads.segments import Segment, SplitResult

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
HOSTILE = SCRIPT + IMG
BODY = '<p><b>bold words</b></p><script>alert(3)</script><img src="cid:x" onerror="alert(4)"><p>after</p>'


def _database_thread() -> TicketThread:
    ident = '1"><img src=x onerror=alert(5)>'
    ticket = Ticket(Provenance("osticket", "ticket", ident), number="N" + HOSTILE, subject="Subject " + HOSTILE,
                    status="Open " + HOSTILE, priority="High " + HOSTILE)
    attachment = Attachment(Provenance("osticket", "attachment", "9"), ticket=ticket.key, file_name="f" + HOSTILE)
    public = Message(Provenance("osticket", "thread_entry", "11"), ticket=ticket.key, position=0,
                     kind=MessageKind.CUSTOMER, visibility=Visibility.PUBLIC, author_name="Author " + HOSTILE,
                     created_at="2024-01-01 " + HOSTILE, title="Title " + HOSTILE, body_html=BODY,
                     attachments=[attachment.key], flags=[Flag("code_" + HOSTILE, "reason " + HOSTILE)])
    note = Message(Provenance("osticket", "thread_entry", "12"), ticket=ticket.key, position=1, kind=MessageKind.AGENT,
                   visibility=Visibility.INTERNAL, author_name="Agent " + HOSTILE, body_format="text",
                   body_text="note " + HOSTILE)
    return TicketThread(ticket, [public, note], [attachment])


def _rendered_thread() -> TicketThread:
    ticket = Ticket(Provenance("osticket", "ticket", "2"), subject="Rendered " + HOSTILE)
    page = ('<html><body><div id="thread-items"><div class="thread-entry message">original words '
            + HOSTILE + "</div></div></body></html>")
    message = Message(Provenance("osticket", "thread_entry", "21"), ticket=ticket.key, author_name="Split " + HOSTILE,
                      body_html="<p>split body</p>")
    split = SplitResult(ticket=ticket.key, page_kind="staff", version="1.18",
                        segments=[Segment(message, "21", ["message"], attachment_names=["n" + HOSTILE])], events=[],
                        confidence=0.5, reasons=[Reason("code_" + HOSTILE, "detail " + HOSTILE, 0.5, "e" + HOSTILE)])
    return TicketThread(ticket, [message], rendered_html=page, split=split)


@pytest.fixture(scope="module")
def page() -> tuple[str, lxml.html.HtmlElement]:
    sample = [SampleItem(_database_thread(), ["open"]), SampleItem(_rendered_thread(), [])]
    text = build_review_page(sample, title="Review " + HOSTILE)
    return text, lxml.html.document_fromstring(text)


def test_no_value_becomes_markup_of_the_page(page) -> None:
    text, doc = page
    assert doc.xpath("//script") == [] and doc.xpath("//*[@onerror]") == []
    assert "<script" not in text.lower()  # not even inside the frame's srcdoc, which is an escaped attribute value
    assert doc.xpath("//title")[0].text_content() == "Review " + HOSTILE
    assert doc.xpath("//h1")[0].text_content() == "Review " + HOSTILE
    first, second = doc.xpath("//section[@class='ticket']")
    assert first.get("data-ticket") == first.get("id") == 'ticket:1"><img src=x onerror=alert(5)>'
    assert first.xpath("h2")[0].text_content() == f"Ticket #N{HOSTILE} — Subject {HOSTILE}"
    meta = first.xpath("div[@class='meta']")[0].text_content()
    assert f"status Open {HOSTILE} · priority High {HOSTILE}" in meta and "2 entries (1 internal)" in meta
    public, note = first.xpath(".//div[contains(@class,'segment')]")
    assert public.xpath(".//b")[0].text_content() == "Author " + HOSTILE
    assert f"2024-01-01 {HOSTILE} · Title {HOSTILE}" in public.xpath("div[@class='who']")[0].text_content()
    assert public.xpath("div[@class='meta']")[0].text_content() == "Attachments: f" + HOSTILE
    assert public.xpath("div[@class='flags']")[0].text_content() == "Flags: code_" + HOSTILE
    assert note.get("class") == "segment internal" and note.xpath("span[@class='label']")[0].text == INTERNAL_LABEL
    assert note.xpath(".//pre")[0].text_content() == "note " + HOSTILE
    # the database path shows each stored body as it is, as text
    stored = [p.text_content() for p in first.xpath(".//div[@class='stored']/pre")]
    assert stored == [BODY, "note " + HOSTILE]
    reasons = [li.text_content() for li in second.xpath("ul[@class='reasons']/li")]
    assert reasons == [f"code_{HOSTILE}: detail {HOSTILE} (entry e{HOSTILE})"]
    assert second.xpath(".//div[contains(@class,'segment')]//b")[0].text_content() == "Split " + HOSTILE


def test_the_sanitised_body_is_shown_as_markup(page) -> None:
    _, doc = page
    body = doc.xpath("//section[1]//div[contains(@class,'segment')][1]/div[@class='body']")[0]
    assert [b.text_content() for b in body.xpath(".//b")] == ["bold words"]  # markup, not "<b>" as text
    assert "after" in body.text_content() and "alert" not in body.text_content()
    assert not body.xpath(".//script") and not body.xpath(".//*[@onerror]")


def test_the_original_page_reaches_only_the_sandboxed_frame(page) -> None:
    _, doc = page
    (frame,) = doc.xpath("//iframe")
    assert frame.get("sandbox") == "" and frame.get("title") == "original render of ticket:2"
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']")[0].get("content")
    assert "default-src 'none'" in csp
    inner = lxml.html.document_fromstring(frame.get("srcdoc"))  # the frame's own document: the page as it was
    assert inner.xpath("//div[@class='thread-entry message']")[0].text_content().startswith("original words")
    assert inner.xpath("//style")
