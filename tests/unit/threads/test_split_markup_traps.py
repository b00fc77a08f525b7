"""The splitter reads osTicket's markup per version, and says how far it trusts what it read."""

from __future__ import annotations

import random

import pytest
from hdm.model import MessageKind, Visibility
from hdm.sources.osticket.rendered import split_rendered
from hdm_infra.osticket.render import RenderOptions, render
from hdm_infra.testing.threads import make_thread


def _entry(entry_id: int, cls: str, author: str = "Jane", when: str | None = "2024-03-01T10:00:00+01:00",
           body: str = "<p>body</p>", stray: bool = False, extra: str = "") -> str:
    time = f'<a name="entry-{entry_id}" href="#entry-{entry_id}"><time datetime="{when}">x</time></a>' if when else ""
    title_end = "</span>\n</span>" if stray else "\n</span>"
    return (f'<div id="thread-entry-{entry_id}"><div class="thread-entry {cls}">'
            f'<div class="header"><div class="pull-right"><span class="textra light">{extra}</span></div>'
            f'<b>{author}</b> posted {time} <span class="faded title truncate">T{title_end}</div>'
            f'<div class="thread-body no-pjax"><div>{body}</div><div class="clear"></div></div></div></div>')


def _page(*entries: str) -> str:
    return f'<html><body><div id="thread-items" data-thread-id="1">{"".join(entries)}</div></body></html>'


def test_the_stray_span_of_1_14_does_not_swallow_the_next_entry() -> None:
    html = _page(_entry(1, "message", stray=True), _entry(2, "note", stray=True), _entry(3, "response", stray=True))
    result = split_rendered(html, "staff", "1.14", ticket="ticket:1")
    assert [(s.entry_id, s.message.visibility) for s in result.segments] == [
        ("1", Visibility.PUBLIC), ("2", Visibility.INTERNAL), ("3", Visibility.PUBLIC)]
    assert all(s.message.title == "T" for s in result.segments)


def test_times_are_converted_to_utc() -> None:
    result = split_rendered(_page(_entry(1, "message", when="2024-03-01T23:30:15-05:00")), "staff", "1.14")
    assert result.segments[0].message.created_at == "2024-03-02T04:30:15Z"


def test_system_notes_are_internal_system_messages() -> None:
    result = split_rendered(_page(_entry(1, "system avatar", author="SYSTEM")), "staff", "1.14")
    msg = result.segments[0].message
    assert (msg.kind, msg.visibility) == (MessageKind.SYSTEM, Visibility.INTERNAL)


def test_the_merged_ticket_badge_names_the_child_ticket() -> None:
    badge = '<span class="label label-bare"><i class="icon-code-fork" title="Ticket #500123"></i></span>'
    result = split_rendered(_page(_entry(1, "response", extra=badge)), "staff", "1.14", ticket="ticket:9",
                            resolve_ticket_number={"500123": "ticket:123"}.get)
    seg = result.segments[0]
    assert seg.merged_from_number == "500123" and seg.message.merged_from == "ticket:123"
    assert "merged_child" in [f.code for f in seg.message.flags]


def test_an_unknown_entry_class_is_kept_internal_and_lowers_confidence() -> None:
    result = split_rendered(_page(_entry(1, "message"), _entry(2, "customnote")), "staff", "1.14")
    odd = result.segments[1].message
    assert odd.visibility is Visibility.INTERNAL
    assert "unknown_entry_class" in [r.code for r in result.reasons]
    assert result.confidence < 0.5
    assert "split_unknown_entry_class" in [f.code for f in odd.flags]


def test_conflicting_kind_classes_are_kept_internal() -> None:
    result = split_rendered(_page(_entry(1, "response note")), "staff", "1.14")
    assert result.segments[0].message.visibility is Visibility.INTERNAL
    assert result.confidence <= 0.4


def test_a_note_class_on_a_portal_page_lowers_confidence() -> None:
    html = ('<div id="ticketThread"><div id="thread-entry-5"><div class="thread-entry note"><div class="header">'
            '<b>Jane</b> posted <time datetime="2024-01-01T00:00:00+00:00">x</time></div>'
            '<div class="thread-body" id="thread-id-5"><div>secret</div></div></div></div></div>')
    result = split_rendered(html, "portal", "1.18")
    assert result.segments[0].message.visibility is Visibility.INTERNAL
    assert "note_on_portal" in [r.code for r in result.reasons] and result.confidence <= 0.5


def test_missing_timestamps_lower_confidence() -> None:
    result = split_rendered(_page(_entry(1, "message", when=None), _entry(2, "response")), "staff", "1.14")
    assert result.segments[0].message.created_at is None
    assert "missing_timestamp" in [r.code for r in result.reasons]
    assert result.confidence < 0.8


def test_an_entry_count_that_disagrees_with_the_expected_count_lowers_confidence() -> None:
    html = _page(_entry(1, "message"), _entry(2, "response"))
    assert split_rendered(html, "staff", "1.14", expected_count=2).confidence == 1.0
    wrong = split_rendered(html, "staff", "1.14", expected_count=3)
    assert "count_mismatch" in [r.code for r in wrong.reasons] and wrong.confidence <= 0.5


def test_osticket_markup_quoted_inside_a_body_is_not_split_into_entries() -> None:
    quoted = '<div class="thread-entry response"><div class="header"><b>Evil</b></div></div>'
    result = split_rendered(_page(_entry(1, "message", body=f"<p>fwd:</p>{quoted}")), "staff", "1.14")
    assert len(result.segments) == 1
    assert "Evil" in result.segments[0].message.body_html


@pytest.mark.parametrize(
    "garbage", ["", "<html><body><p>not a ticket</p>", "<div id='thread-items'>", "\x00\xff<<<>>>"])
def test_unparseable_pages_give_zero_confidence_not_a_crash(garbage: str) -> None:
    result = split_rendered(garbage, "staff", "1.18")
    assert result.segments == [] and result.confidence == 0.0
    assert "no_entries" in [r.code for r in result.reasons]


def test_a_wrapper_with_no_entry_inside_is_reported() -> None:
    html = _page(_entry(1, "message"), '<div id="thread-entry-2"><p>broken</p></div>')
    result = split_rendered(html, "staff", "1.14")
    assert [r.code for r in result.reasons if r.penalty > 0] == ["unparseable_entry"]
    assert result.confidence == 0.5


def test_markup_that_does_not_match_the_stated_version_is_noticed() -> None:
    fx = make_thread(random.Random(11), 11, entries=4)
    html = render("staff", fx.ticket, fx.messages, fx.attachments, fx.events, RenderOptions(version="1.18"))
    assert split_rendered(html, "staff", "1.18").confidence == 1.0
    said_114 = split_rendered(html, "staff", "1.14")
    assert "version_markup_mismatch" in [r.code for r in said_114.reasons]
    assert 0.9 <= said_114.confidence < 1.0  # a hint, not a reason to hold


def test_a_newest_first_staff_page_is_put_back_in_thread_order() -> None:
    fx = make_thread(random.Random(12), 12, entries=6)
    html = render("staff", fx.ticket, fx.messages, fx.attachments, fx.events, RenderOptions(newest_first=True))
    result = split_rendered(html, "staff", "1.18")
    assert [s.message.key for s in result.segments] == [m.key for m in fx.messages]
    assert [s.message.position for s in result.segments] == list(range(6))


def test_print_view_times_without_a_timezone_are_flagged() -> None:
    fx = make_thread(random.Random(13), 13, entries=3)
    html = render("print", fx.ticket, fx.messages, fx.attachments, fx.events, RenderOptions(timezone="Europe/Berlin"))
    right = split_rendered(html, "print", "1.18", display_tz="Europe/Berlin")
    assert [s.message.created_at[:16] for s in right.segments] == [m.created_at[:16] for m in fx.messages]
    unsure = split_rendered(html, "print", "1.18")
    assert "timestamp_without_offset" in [r.code for r in unsure.reasons]


def test_page_kind_is_detected() -> None:
    fx = make_thread(random.Random(14), 14, entries=3)
    for kind in ("staff", "portal", "print"):
        html = render(kind, fx.ticket, fx.messages, fx.attachments, fx.events, RenderOptions())
        assert split_rendered(html, "auto").page_kind == kind


def test_an_unknown_page_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown page kind"):
        split_rendered("<p/>", "pdf")
