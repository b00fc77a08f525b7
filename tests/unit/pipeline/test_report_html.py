"""The reconciliation report's HTML page is a Jinja2 template with autoescape on: whatever a source or the org
put in a value (a table name, a flag's reason, a field's original value, an error message …) is shown as text and
can never become markup of the page."""

from __future__ import annotations

import lxml.html
import pytest
from hdm.pipeline.report import BAR_COLOURS, render_html

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
HOSTILE = SCRIPT + IMG


def _summary() -> dict:
    return {
        "migration_id": "m-" + HOSTILE, "run_id": "run-" + HOSTILE, "ok": True, "outcome": "needs_attention",
        "exit_status": 10, "attention": {"rejected: E" + HOSTILE: 1},
        "source": {
            # counts are numbers, but the old page printed them unescaped: a string here was markup
            "per_type": {"ticket" + HOSTILE: {"extracted": "10" + HOSTILE, "to_destination": 9, "skipped": 1,
                                              "left_at_source": 0}},
            "tables": [{"table": "ost_" + HOSTILE, "rows_in_source": "12" + HOSTILE, "rows_read": 10,
                        "becomes": "ticket" + HOSTILE, "fate": "fate" + HOSTILE, "destination": "Case" + HOSTILE,
                        "records": None},
                       {"table": "ost_lookup", "rows_in_source": None, "rows_read": 0, "becomes": None,
                        "fate": None, "destination": None, "records": None}],
            "left_at_source": [{"object_type": "ticket", "reason": "deleted_" + HOSTILE, "count": 2}],
            "skip_reasons": [{"object_type": "ticket", "reason": "no owner " + HOSTILE, "count": 1}],
            "source_flags": {}, "source_error_flags": {}, "extracted_total": 10},
        "totals": {"loaded": 6, "matched": 1, "merged": 0, "rejected": 1, "held": 1, "skipped": 1, "api_calls": 3},
    }


def _phases() -> list[dict]:
    return [
        {"phase": "cases" + HOSTILE, "ok": True, "source": 10, "loaded": 6, "created": 5, "updated": 1,
         "matched": 1, "merged": 0, "rejected": 1, "held": 1, "skipped": 1, "flagged": 3, "field_mismatches": 0,
         "api_calls": 3,
         "rejections": [{"source_key": "ticket:1" + HOSTILE, "status": "rejected", "error_code": "E" + HOSTILE,
                         "message": "refused " + HOSTILE}],
         "flags": [{"source_key": "ticket:3" + HOSTILE, "field": "Subject" + HOSTILE, "code": "value_truncated",
                    "original": "long " + HOSTILE, "loaded_as": "short " + HOSTILE, "reason": "too long " + HOSTILE},
                   {"source_key": "ticket:4", "code": "odd_" + HOSTILE}],
         "unexplained": [{"source_key": "ticket:9" + HOSTILE, "why": "why " + HOSTILE}]},
        {"phase": "comments", "ok": False, "source": 4, "loaded": 0, "stopped": {"message": "quota " + HOSTILE}},
    ]


@pytest.fixture(scope="module")
def page() -> tuple[str, lxml.html.HtmlElement]:
    text = render_html(_summary(), _phases())
    return text, lxml.html.document_fromstring(text)


def test_hostile_values_land_as_text_never_as_markup(page) -> None:
    text, doc = page
    assert doc.xpath("//script") == [] and doc.xpath("//*[@onerror]") == [] and doc.xpath("//img") == []
    assert SCRIPT not in text and "<img" not in text
    shown = doc.text_content()
    for value in ("m-" + HOSTILE, "ost_" + HOSTILE, "12" + HOSTILE, "10" + HOSTILE, "Case" + HOSTILE,
                  "refused " + HOSTILE, "long " + HOSTILE, "short " + HOSTILE, "too long " + HOSTILE,
                  "Subject" + HOSTILE, "odd_" + HOSTILE, "why " + HOSTILE, "quota " + HOSTILE, "no owner " + HOSTILE,
                  "deleted " + HOSTILE.replace("_", " ")):
        assert value in shown, value
    assert doc.xpath("//title")[0].text_content() == "hdm reconciliation — m-" + HOSTILE
    # an attribute value cannot be closed early either
    labels = [svg.get("aria-label") for svg in doc.xpath("//svg")]
    assert labels == ["phase cases" + HOSTILE, "phase comments"]


def test_the_page_keeps_its_tables_charts_and_flags(page) -> None:
    _, doc = page
    ledger = doc.xpath("//h3[.='Where every source table went']/following-sibling::table[1]//tr")
    assert [td.text_content() for td in ledger[1].xpath("td")] == [
        "ost_" + HOSTILE, "12" + HOSTILE, "10", "ticket" + HOSTILE, "fate" + HOSTILE, "Case" + HOSTILE]
    assert [td.text_content() for td in ledger[2].xpath("td")] == ["ost_lookup", "", "0", "", "", ""]
    sections = doc.xpath("//section[contains(@class,'phase')]")
    assert [s.get("class") for s in sections] == ["phase ok", "phase bad"]
    first = sections[0]
    rects = first.xpath(".//svg/rect")  # one bar per non-zero outcome, 560 px for the phase's 10 source rows
    assert [(r.get("fill"), r.get("width")) for r in rects] == [
        (BAR_COLOURS["loaded"], "336.0"), (BAR_COLOURS["matched"], "56.0"), (BAR_COLOURS["rejected"], "56.0"),
        (BAR_COLOURS["held"], "56.0"), (BAR_COLOURS["skipped"], "56.0")]
    assert [r.get("x") for r in rects] == ["0.0", "336.0", "392.0", "448.0", "504.0"]
    figures = first.xpath(".//table[@class='figures']//tr")
    assert [td.text_content() for td in figures[1].xpath("td")] == ["10", "6", "5", "1", "1", "0", "1", "1", "1",
                                                                     "3", "0", "3"]
    values = first.xpath(".//h3[.='Values that did not arrive as the source had them']/following-sibling::table[1]"
                         "//tr")
    assert [td.text_content() for td in values[1].xpath("td")] == [
        "ticket:3" + HOSTILE, "Subject" + HOSTILE, "value_truncated", "long " + HOSTILE, "short " + HOSTILE,
        "too long " + HOSTILE]
    assert [li.text_content() for li in first.xpath(".//h3[.='Flags']/following-sibling::ul[1]/li")] == [
        "value_truncated: 1", "odd_" + HOSTILE + ": 1"]
    stop = sections[1].xpath(".//p[@class='stop']")[0]
    assert stop.text_content() == "Stopped: quota " + HOSTILE
    assert "✘ not reconciled" in sections[1].xpath(".//h2")[0].text_content()
