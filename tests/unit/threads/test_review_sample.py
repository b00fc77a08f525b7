"""The review sample mixes ticket kinds, and the page marks internal notes unmistakably."""

from __future__ import annotations

import gzip
import json
import random

from click.testing import CliRunner
from hdm.model import StatusState, Visibility
from hdm.sources.osticket.rendered.cli import threads
from hdm.threads.review import (
    CATEGORIES,
    INTERNAL_LABEL,
    TicketThread,
    build_review_page,
    categories_of,
    load_staged_threads,
    select_sample,
)
from hdm_infra.osticket.render import RenderOptions, render
from hdm_infra.testing.threads import make_thread
from selectolax.lexbor import LexborHTMLParser


def _pool(count: int = 60) -> list[TicketThread]:
    rng = random.Random(99)
    return [TicketThread(fx.ticket, fx.messages, fx.attachments, fx.events)
            for fx in (make_thread(rng, i + 1) for i in range(count))]


def _stage(tmp_path, pool: list[TicketThread]) -> None:
    folder = tmp_path / "stage" / "extract"
    for kind in ("ticket", "message", "attachment", "event"):
        (folder / kind).mkdir(parents=True)
    with gzip.open(folder / "ticket" / "ticket-1.jsonl.gz", "wt", encoding="utf-8") as fh:
        for t in pool:
            fh.write(json.dumps(t.ticket.to_dict(), ensure_ascii=False) + "\n")
    with gzip.open(folder / "message" / "message-1.jsonl.gz", "wt", encoding="utf-8") as fh:
        for t in pool:
            for m in t.messages:
                fh.write(json.dumps(m.to_dict(), ensure_ascii=False) + "\n")
    with gzip.open(folder / "attachment" / "attachment-1.jsonl.gz", "wt", encoding="utf-8") as fh:
        for t in pool:
            for a in t.attachments:
                fh.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")


def test_the_sample_mixes_open_closed_high_priority_multi_participant_and_long_threads() -> None:
    pool = _pool()
    present = {c for t in pool for c in categories_of(t)}
    assert present == set(CATEGORIES)
    sample = select_sample(pool, 10, seed=1)
    assert len(sample) == 10 and len({s.thread.ticket.key for s in sample}) == 10
    assert {c for s in sample for c in s.categories} == set(CATEGORIES)
    assert [s.thread.ticket.key for s in select_sample(pool, 10, seed=1)] == [s.thread.ticket.key for s in sample]


def test_the_sample_is_never_larger_than_the_pool() -> None:
    assert len(select_sample(_pool(5), 20)) == 5
    assert select_sample(_pool(5), 0) == []


def test_internal_notes_are_marked_on_the_review_page() -> None:
    pool = _pool(12)
    page = build_review_page(select_sample(pool, 12))
    tree = LexborHTMLParser(page)
    internal = tree.css("div.segment.internal")
    expected = sum(1 for t in pool for m in t.messages if m.visibility is Visibility.INTERNAL)
    assert len(internal) == expected > 0
    assert all(INTERNAL_LABEL in (seg.css_first("span.label").text() or "") for seg in internal)
    assert not tree.css("script")
    public = tree.css("div.segment.public")
    assert len(public) == sum(1 for t in pool for m in t.messages if m.visibility is Visibility.PUBLIC)


def test_low_confidence_tickets_show_as_held_unless_approved() -> None:
    fx = make_thread(random.Random(4), 4, entries=5)
    html = render("staff", fx.ticket, fx.messages, fx.attachments, fx.events, RenderOptions())
    html = html.replace('class="thread-entry message', 'class="thread-entry odd-skin', 1)
    from hdm.sources.osticket.rendered import split_rendered
    thread = TicketThread(fx.ticket, fx.messages, rendered_html=html,
                          split=split_rendered(html, "staff", "1.18", ticket=fx.ticket.key))
    assert thread.confidence < 0.8
    held = build_review_page(select_sample([thread], 1))
    assert ">HELD<" in held and "unknown_entry_class" in held and "<iframe sandbox" in held
    approved = build_review_page(select_sample([thread], 1), approvals={fx.ticket.key})
    assert ">PASSES<" in approved and "approved by reviewer" in approved


def test_validate_writes_the_page_from_staged_records(tmp_path) -> None:
    pool = _pool(30)
    _stage(tmp_path, pool)
    assert len(load_staged_threads(tmp_path)) == 30
    out = tmp_path / "review.html"
    result = CliRunner().invoke(threads, ["validate", "--records", str(tmp_path), "--sample", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "8 of 30 tickets sampled" in result.output
    assert len(LexborHTMLParser(out.read_text(encoding="utf-8")).css("section.ticket")) == 8


def test_validate_splits_rendered_pages_and_can_fail_on_held_tickets(tmp_path) -> None:
    pool = _pool(6)
    _stage(tmp_path / "records", pool)
    pages = tmp_path / "pages"
    pages.mkdir()
    for t in pool:
        html = render("portal", t.ticket, t.messages, t.attachments, t.events, RenderOptions(version="1.14"))
        (pages / f"{t.ticket.provenance.id}.html").write_text(html, encoding="utf-8")
    out = tmp_path / "review.html"
    ok = CliRunner().invoke(threads, ["validate", "--records", str(tmp_path / "records"), "--html", str(pages),
                                      "--version", "1.14", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "0 of 6 tickets held" in ok.output  # the portal's entry count is checked against public entries only
    # a damaged page (a customer theme dropped an entry's kind class) is held, and --fail-on-hold says so
    first = pages / f"{pool[0].ticket.provenance.id}.html"
    first.write_text(first.read_text(encoding="utf-8").replace('class="thread-entry message', 'class="thread-entry',
                                                               1), encoding="utf-8")
    strict = CliRunner().invoke(threads, ["validate", "--html", str(pages), "--records", str(tmp_path / "records"),
                                          "--version", "1.14", "--out", str(out), "--fail-on-hold"])
    assert strict.exit_code == 3, strict.output
    assert f"1 of 6 tickets held below confidence 0.80 (first: {pool[0].ticket.key})" in strict.output


def test_validate_without_input_is_a_usage_error() -> None:
    result = CliRunner().invoke(threads, ["validate"])
    assert result.exit_code == 2 and "--records" in result.output


def test_closed_and_open_states_are_read_from_the_ticket() -> None:
    t = _pool(1)[0]
    t.ticket.status_state = StatusState.CLOSED
    assert "closed" in categories_of(t)
