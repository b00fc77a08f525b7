"""Custom-form answers in the formats the real osTicket application stores (include/class.forms.php).

Each case is a string as osTicket 1.10.1+ writes it; the old extractor passed most of them on raw, and the
org rejected the whole record over one value.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hdm.model import Provenance, Ticket
from hdm.sources.osticket.forms import Answers, apply_problems, problem_reason
from hdm.sources.osticket.values import (
    canonical_field_type,
    parse_bool,
    parse_datetime_answer,
    parse_form_value,
    parse_phone,
    zone_named,
)

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
TIME = {"time": True}  # the field's time picker is on: a moment


@pytest.mark.parametrize(("stored", "iso"), [
    # DatetimePickerWidget::getValue: date('Y-m-d H:i:s T') in the field's zone
    ("2025-03-16 00:00:00 UTC", "2025-03-16T00:00:00Z"),
    ("2025-03-16 09:15:00 GMT", "2025-03-16T09:15:00Z"),
    ("2025-03-16 10:30:00 EDT", "2025-03-16T14:30:00Z"),
    ("2025-01-16 10:30:00 EST", "2025-01-16T15:30:00Z"),
    ("2025-07-01 09:00:00 CEST", "2025-07-01T07:00:00Z"),
    ("2025-01-01 09:00:00 CET", "2025-01-01T08:00:00Z"),
    # zones without an abbreviation print their offset; offset zones print GMT+hhmm (older PHP) or +hh:mm
    ("2025-07-01 09:00:00 +03", "2025-07-01T06:00:00Z"),
    ("2025-07-01 09:00:00 -0330", "2025-07-01T12:30:00Z"),
    ("2025-07-01 09:00:00 GMT+0200", "2025-07-01T07:00:00Z"),
    ("2025-07-01 09:00:00 +05:30", "2025-07-01T03:30:00Z"),
    # ≤ 1.10.0 unix timestamps, W3C from the API, plain dates (PHP runs in UTC: no zone means UTC)
    ("1609459200", "2021-01-01T00:00:00Z"),
    ("2021-01-01T01:00:00+01:00", "2021-01-01T00:00:00Z"),
    ("2021-01-01T01:00:00Z", "2021-01-01T01:00:00Z"),
    ("2025-03-16", "2025-03-16T00:00:00Z"),
    ("2025-03-16 08:00", "2025-03-16T08:00:00Z"),
    ("2025-07-01 09:00:00 Europe/Berlin", "2025-07-01T07:00:00Z"),
])
def test_datetime_answers_in_every_stored_format(stored, iso):
    answer = parse_form_value("datetime", stored, None, TIME, UTC)
    assert answer.value == iso and answer.problem is None


def test_an_ambiguous_abbreviation_is_read_in_the_fields_or_helpdesks_zone():
    # CST is US Central and China Standard Time: alone it is not guessed …
    alone = parse_form_value("datetime", "2025-01-10 08:00:00 CST", None, TIME, UTC)
    assert alone.value is None and alone.problem == "unparsed_value" and "CST" in alone.detail
    # … but the field's configured timezone, or the helpdesk's, names the one osTicket wrote it in
    field = parse_form_value("datetime", "2025-01-10 08:00:00 CST", None, {**TIME, "timezone": "Asia/Shanghai"}, UTC)
    assert field.value == "2025-01-10T00:00:00Z"
    helpdesk = parse_form_value("datetime", "2025-01-10 08:00:00 CST", None, TIME, UTC,
                                helpdesk_zone=ZoneInfo("America/Chicago"))
    assert helpdesk.value == "2025-01-10T14:00:00Z"


@pytest.mark.parametrize(("stored", "day"), [
    ("2025-03-16 00:00:00 UTC", "2025-03-16"),
    ("2025-01-31 14:45:00 UTC", "2025-01-31"),  # recorded: the API stored a time on a date-only field
    ("2025-03-16 00:00:00 EDT", "2025-03-16"),  # the date as written, not the UTC date (2025-03-16T04:00Z)
    ("2025-03-16", "2025-03-16"),
    ("1609459200", "2021-01-01"),
])
def test_date_only_fields_are_dates(stored, day):
    # DatetimeField without the time option (osTicket's default) shows a date: it becomes a Date, not a moment
    assert parse_form_value("datetime", stored, None, {}, UTC).value == day
    assert parse_form_value("datetime", stored, None, None, UTC).value == day
    assert canonical_field_type("datetime", None) == "date" and canonical_field_type("datetime", TIME) == "datetime"


def test_a_date_only_timestamp_is_read_in_the_helpdesks_zone():
    # 1609459200 is 2021-01-01 00:00 UTC: still 2020-12-31 in Chicago
    assert parse_form_value("datetime", "1609459200", None, {}, UTC,
                            helpdesk_zone=ZoneInfo("America/Chicago")).value == "2020-12-31"


def test_the_dst_hour_is_read_by_its_abbreviation():
    # 01:30 happens twice in New York on 2024-11-03: EDT (-4) first, then EST (-5)
    assert parse_datetime_answer("2024-11-03 01:30:00 EDT", (NEW_YORK,)).iso == "2024-11-03T05:30:00Z"
    assert parse_datetime_answer("2024-11-03 01:30:00 EST", (NEW_YORK,)).iso == "2024-11-03T06:30:00Z"


@pytest.mark.parametrize("stored", ["yesterday-ish", "2025-02-30 00:00:00 UTC", "2025-07-01 09:00:00 XYZ",
                                    "16/03/2025", "2025-03-16 00:00:00 +25"])
def test_an_unreadable_datetime_leaves_the_field_empty_and_keeps_the_text(stored):
    for config in (TIME, {}):
        answer = parse_form_value("datetime", stored, None, config, UTC)
        assert answer.value is None
        assert answer.problem == "unparsed_value" and answer.original == stored


def test_empty_and_zero_datetimes_are_no_answer_not_a_problem():
    for stored in ("", "  ", "0"):
        answer = parse_form_value("datetime", stored, None, TIME, UTC)
        assert answer.value is None and answer.problem is None


def test_the_flag_of_an_unreadable_answer_names_the_field_and_keeps_the_stored_text():
    answer = parse_form_value("datetime", "2025-13-45 99:99 UTC", None, TIME, UTC)
    ans = Answers(values={"purchase_date": answer.value})
    ans.problems.append((answer.problem, problem_reason("purchase_date", answer), "purchase_date"))
    ticket = Ticket(provenance=Provenance("osticket", "ticket", "1"))
    apply_problems(ticket, ans)
    (flag,) = ticket.flags
    assert flag.code == "unparsed_value" and flag.field == "purchase_date"
    assert "'2025-13-45 99:99 UTC'" in flag.reason and "left empty" in flag.reason


@pytest.mark.parametrize(("stored", "value"), [("1", True), ("0", False), ("", False), ("true", True),
                                                ("false", False), ("on", True)])
def test_bool_answers(stored, value):
    assert parse_form_value("bool", stored, None, {}, UTC).value is value


def test_a_bool_answer_that_is_no_yes_or_no_is_flagged_not_passed_on():
    answer = parse_form_value("bool", "maybe", None, {}, UTC)
    assert answer.value is None and answer.problem == "unparsed_value" and answer.original == "maybe"
    assert parse_bool("2") is None


@pytest.mark.parametrize(("stored", "config", "shown"), [
    ("5551234567", {}, "(555) 123-4567"),
    ("5551234567X12", {}, "(555) 123-4567 x12"),  # PhoneField keeps the extension after an 'X'
    ("5551234", {"format": "us"}, "555-1234"),
    ("441234567890X7", {}, "441234567890 x7"),
    ("5551234567X12", {"format": ""}, "5551234567 x12"),
    ("+44 20 7946 0958", {}, "+44 20 7946 0958"),  # free text from an import stays as it is
])
def test_phone_answers_as_osticket_shows_them(stored, config, shown):
    assert parse_form_value("phone", stored, None, config, UTC).value == shown
    assert parse_phone(stored, config) == shown


def test_choices_and_list_items_stored_as_json_objects():
    config = {"choices": "hw:Hardware\nsw:Software", "multiselect": True}
    assert parse_form_value("choices", '{"hw":"Hardware","sw":"Software"}', None, config, UTC).value == \
        ["Hardware", "Software"]
    assert parse_form_value("choices", '{"hw":"Hardware"}', None, {"choices": "hw:Hardware"}, UTC).value == \
        "Hardware"
    # a key ChoiceField::to_database could not find in its choices is stored bare
    assert parse_form_value("choices", "hw", None, {"choices": "hw:Hardware"}, UTC).value == "Hardware"
    # list-N answers reference list_items ids: {"12":"EMEA"}
    assert parse_form_value("list-2", '{"12":"EMEA"}', None, {}, UTC).value == "EMEA"
    assert parse_form_value("list-2", '{"12":"EMEA","13":"APAC"}', None, {"multiselect": True}, UTC).value == \
        ["EMEA", "APAC"]
    # an emptied multi-select is stored as []
    assert parse_form_value("choices", "[]", None, {"multiselect": True}, UTC).value == []


def test_priority_answers_keep_the_description_and_the_id():
    assert parse_form_value("priority", "Normal", 2, {}, UTC).value == "Normal"
    assert parse_form_value("priority", '{"3":"High"}', None, {}, UTC).value == "High"


def test_unreadable_assignee_and_files_answers_are_flagged_not_passed_on():
    for ftype in ("assignee", "files"):
        answer = parse_form_value(ftype, "not json", None, {}, UTC)
        assert answer.value is None and answer.original == "not json" and answer.problem == "unparsed_value"


def test_timezone_names_from_configuration():
    assert zone_named("America/Chicago") == ZoneInfo("America/Chicago")
    assert zone_named("Mars/Olympus") is None and zone_named("") is None


def test_text_and_memo_answers_read_as_osticket_shows_them():
    # recorded from osTicket 1.18.1: a memo (HTML allowed by default) stores sanitised HTML with entities
    assert parse_form_value("memo", "1. print 2. wait &gt; 5 min", None, None, UTC).value == "1. print 2. wait > 5 min"
    assert parse_form_value("memo", "<p>Steps:</p><ol><li>open</li><li>wait &gt; 5 min</li></ol>", None, {},
                            UTC).value == "Steps:\n\n1. open\n2. wait > 5 min"
    # a memo without HTML keeps its line breaks; entities decoded once
    assert parse_form_value("memo", "1 Main St\nSpringfield &amp;amp; Co", None, {"html": False}, UTC).value == \
        "1 Main St\nSpringfield &amp; Co"
    assert parse_form_value("memo", "line one\nline two", None, {}, UTC).value == "line one\nline two"
    # a text answer is shown through htmlspecialchars without double encoding
    assert parse_form_value("text", 'Printer says "toner" & ', None, {}, UTC).value == 'Printer says "toner" & '
    assert parse_form_value("text", "AT&amp;T", None, {}, UTC).value == "AT&T"
