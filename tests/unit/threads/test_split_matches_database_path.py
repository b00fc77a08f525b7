"""For the same tickets, the rendered-HTML path gives the canonical messages the database path gives."""

from __future__ import annotations

import random

import pytest
from hdm.model import MessageKind, Visibility
from hdm.sources.osticket.rendered import split_rendered
from hdm_infra.osticket.render import VERSIONS, RenderOptions, portal_entries, render, version_tuple
from hdm_infra.testing.threads import TIMEZONES, comparable, make_thread

CASES = [(kind, version) for kind in ("staff", "portal", "print") for version in VERSIONS] + [("staff", "1.9")]


def _local_times(page_kind: str, version: str) -> bool:
    """Print views and pre-1.10 staff pages show local times to the minute, without offset."""
    return page_kind == "print" or version_tuple(version) < (1, 10, 0)


def _expected(fx, page_kind: str, version: str, opts: RenderOptions) -> list[dict]:
    msgs = sorted(fx.messages, key=lambda m: (m.created_at, int(m.provenance.id)))
    if page_kind == "portal":
        msgs = portal_entries(msgs, opts.portal_viewer)
    out = []
    for m in msgs:
        c = comparable(m, fx.attachments, minute_precision=_local_times(page_kind, version), stored=True)
        if page_kind != "staff" or version_tuple(version) < (1, 14, 0):
            c["merged_from"] = None  # only the staff page of 1.14+ shows the merged-child badge
        if _local_times(page_kind, version):
            c["edited"] = False  # the print view and 1.9 pages show no badges
        if page_kind == "portal" and opts.hide_staff_name and m.kind is MessageKind.AGENT:
            c["author"] = "Staff"
        out.append(c)
    return out


@pytest.mark.parametrize(("page_kind", "version"), CASES)
def test_both_paths_give_identical_canonical_messages(page_kind: str, version: str) -> None:
    rng = random.Random(f"{page_kind}-{version}")
    for n in range(12):
        fx = make_thread(rng, 100 + n)
        tz = rng.choice(TIMEZONES)
        opts = RenderOptions(version=version, timezone=tz, ticket_numbers=fx.child_numbers,
                             avatars=rng.random() < 0.7, newest_first=rng.random() < 0.3)
        html = render(page_kind, fx.ticket, fx.messages, fx.attachments, fx.events, opts)
        numbers = {v: k for k, v in fx.child_numbers.items()}
        result = split_rendered(html, page_kind, version, ticket=fx.ticket.key, display_tz=tz,
                                resolve_ticket_number=numbers.get)
        got = [comparable(s.message, fx.attachments, s.attachment_names,
                          minute_precision=_local_times(page_kind, version)) for s in result.segments]
        assert got == _expected(fx, page_kind, version, opts), f"ticket {fx.ticket.key} on {tz}"
        assert result.confidence >= 0.9, [r.code for r in result.reasons]
        if not _local_times(page_kind, version) or page_kind == "staff":
            assert [s.message.key for s in result.segments] == [
                m.key for m in sorted(fx.messages, key=lambda m: (m.created_at, int(m.provenance.id)))
                if page_kind == "staff" or m in portal_entries(fx.messages, None)]


@pytest.mark.parametrize("page_kind", ["staff", "portal", "print"])
def test_events_come_back_with_name_actor_and_utc_time(page_kind: str) -> None:
    fx = make_thread(random.Random(7), 7, entries=8)
    html = render(page_kind, fx.ticket, fx.messages, fx.attachments, fx.events,
                  RenderOptions(timezone="Asia/Kolkata"))
    result = split_rendered(html, page_kind, "1.18", ticket=fx.ticket.key, display_tz="Asia/Kolkata")
    shown = fx.events if page_kind != "portal" else [e for e in fx.events if e.name in ("created", "closed")]
    assert sorted((e.name, e.actor_name, e.at) for e in result.events) == sorted(
        (e.name, e.actor_name, e.at) for e in shown)


def test_portal_hides_staff_names_when_osticket_does() -> None:
    fx = make_thread(random.Random(3), 3, entries=10)
    opts = RenderOptions(version="1.18", hide_staff_name=True)
    result = split_rendered(render("portal", fx.ticket, fx.messages, fx.attachments, fx.events, opts), "portal",
                            "1.18", ticket=fx.ticket.key)
    assert [comparable(s.message, fx.attachments, s.attachment_names) for s in result.segments] == _expected(
        fx, "portal", "1.18", opts)
    assert all(s.message.visibility is Visibility.PUBLIC for s in result.segments)


def test_a_65000_plus_character_body_is_split_whole() -> None:
    fx = make_thread(random.Random(5), 5, entries=3, long_body_chars=200_000)
    html = render("staff", fx.ticket, fx.messages, fx.attachments, fx.events, RenderOptions())
    result = split_rendered(html, "staff", "1.18", ticket=fx.ticket.key)
    first = result.segments[0].message
    assert len(first.body_html) > 200_000
    assert first.body_html.endswith("<p>THE-END</p>")
    assert comparable(first, fx.attachments, result.segments[0].attachment_names) == comparable(
        fx.messages[0], fx.attachments, stored=True)
