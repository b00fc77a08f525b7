"""Pure logic of the osTicket source: flags, values, dates, versions, the read-only guard, grants."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from hdm.model import MessageKind, Visibility
from hdm.sources.osticket.connection import check_statement, parse_grants, python_codec
from hdm.sources.osticket.errors import WriteRefusedError
from hdm.sources.osticket.flags import EntryFlag, FieldFlag, names
from hdm.sources.osticket.threads import kind_and_visibility
from hdm.sources.osticket.values import (
    UTC,
    canonical_field_type,
    decode_text,
    load_zone,
    parse_choices_config,
    parse_form_value,
    to_utc_iso,
)
from hdm.sources.osticket.versions import Layout, SchemaFacts, detect_layout, resolve_version, version_from_signature

BERLIN = ZoneInfo("Europe/Berlin")


# -- thread entries: kind and visibility --------------------------------------------------------------

@pytest.mark.parametrize("entry_type,flags,expected", [
    ("M", 0, (MessageKind.CUSTOMER, Visibility.PUBLIC)),
    ("M", EntryFlag.COLLABORATOR, (MessageKind.CUSTOMER, Visibility.PUBLIC)),
    ("R", 0, (MessageKind.AGENT, Visibility.PUBLIC)),
    ("N", 0, (MessageKind.AGENT, Visibility.INTERNAL)),
    ("N", EntryFlag.SYSTEM, (MessageKind.SYSTEM, Visibility.INTERNAL)),
    ("R", EntryFlag.SYSTEM, (MessageKind.SYSTEM, Visibility.INTERNAL)),
])
def test_entry_types_map_to_kind_and_visibility(entry_type, flags, expected):
    kind, vis, known = kind_and_visibility(entry_type, flags)
    assert (kind, vis) == expected and known


def test_an_unknown_entry_type_is_never_public():
    kind, vis, known = kind_and_visibility("X", 0)
    assert vis is Visibility.INTERNAL and not known


def test_flag_names_decode_known_and_unknown_bits():
    assert names(0x1 | 0x4 | 0x400, EntryFlag) == ["original_message", "hidden", "child"]
    subject = names(0x77731, FieldFlag)  # osTicket's default subject field
    assert {"enabled", "client_required", "agent_required", "client_view"} <= set(subject)
    assert "close_required" not in subject and "0x70030" in subject  # the MASK_* bits are reported as hex
    assert "0x800000" in names(0x800000 | 0x1, FieldFlag)


# -- dates ------------------------------------------------------------------------------------------------

def test_datetimes_in_db_timezone_become_utc_z():
    import datetime as dt

    assert to_utc_iso(dt.datetime(2021, 7, 1, 12, 0), BERLIN).iso == "2021-07-01T10:00:00Z"  # CEST
    assert to_utc_iso(dt.datetime(2021, 1, 1, 12, 0), BERLIN).iso == "2021-01-01T11:00:00Z"  # CET
    assert to_utc_iso(dt.datetime(2021, 1, 1, 12, 0), BERLIN, already_utc=True).iso == "2021-01-01T12:00:00Z"


@pytest.mark.parametrize("raw", ["0000-00-00 00:00:00", b"0000-00-00 00:00:00", "0000-00-00"])
def test_zero_dates_become_null_with_a_problem(raw):
    res = to_utc_iso(raw, UTC)
    assert res.iso is None and res.problem == "zero_date"


def test_an_impossible_date_is_reported_not_raised():
    res = to_utc_iso("2021-02-31 10:00:00", UTC)
    assert res.iso is None and res.problem == "invalid_date"
    assert to_utc_iso(None, UTC).iso is None and to_utc_iso(None, UTC).problem is None


def test_an_unknown_db_timezone_falls_back_to_utc_with_a_warning():
    zone, warning = load_zone("Mars/Olympus")
    assert zone is UTC and "not a known timezone" in warning
    zone, warning = load_zone("Europe/Berlin")
    assert zone.key == "Europe/Berlin" and warning is None


# -- form values -------------------------------------------------------------------------------------

def test_datetime_answers_accept_epoch_and_w3c():
    with_time = {"time": True}
    assert parse_form_value("datetime", "1609459200", None, with_time, UTC).value == "2021-01-01T00:00:00Z"
    assert parse_form_value("datetime", "2021-01-01T01:00:00+01:00", None, with_time, UTC).value == \
        "2021-01-01T00:00:00Z"
    bad = parse_form_value("datetime", "yesterday", None, with_time, UTC)
    # never passed on raw (the org would reject the whole record): empty, flagged, the stored text kept
    assert bad.value is None and bad.problem == "unparsed_value" and bad.original == "yesterday"


def test_choice_and_list_answers_become_labels():
    assert parse_form_value("choices", '{"it":"IT"}', None, {}, UTC).value == "IT"
    multi = parse_form_value("choices", '{"it":"IT","retail":"Retail"}', None, {"multiselect": True}, UTC)
    assert multi.value == ["IT", "Retail"]
    assert parse_form_value("list-1", '{"12":"EMEA"}', None, {}, UTC).value == "EMEA"
    assert parse_form_value("list-1", "EMEA", 12, {}, UTC).value == "EMEA"  # <= 1.9.3: text + value_id
    two = parse_form_value("choices", '{"a":"A","b":"B"}', None, {}, UTC)
    assert two.value == "A" and two.problem == "multiple_values_single_choice"


def test_bool_assignee_and_file_answers():
    assert parse_form_value("bool", "1", None, {}, UTC).value is True
    assert parse_form_value("bool", "0", None, {}, UTC).value is False
    assert parse_form_value("assignee", '{"s4":"Ann"}', None, {}, UTC).value == "agent:4"
    assert parse_form_value("assignee", '{"t2":"L2"}', None, {}, UTC).value == "team:team-2"
    assert parse_form_value("files", '{"7":"a.pdf"}', None, {}, UTC).value == ["a.pdf"]
    assert parse_form_value("text", None, None, {}, UTC).value is None


def test_field_types_and_choice_configuration():
    assert canonical_field_type("list-3", {"multiselect": True}) == "multichoice"
    assert canonical_field_type("choices", {}) == "choice"
    assert canonical_field_type("memo", None) == "memo"
    assert canonical_field_type("weird", None) == "other"
    assert parse_choices_config("it:IT\nretail:Retail\n\nplain") == [
        {"key": "it", "label": "IT"}, {"key": "retail", "label": "Retail"}, {"key": "plain", "label": "plain"}]


# -- text bytes --------------------------------------------------------------------------------------

def test_invalid_utf8_is_replaced_and_reported():
    text, bad = decode_text(b"caf\xc3\xa9 \xff", "utf-8")
    assert text == "café \ufffd" and bad
    assert decode_text("ok ✓".encode(), "utf-8") == ("ok ✓", False)


def test_latin1_columns_holding_utf8_bytes_read_as_utf8():
    assert decode_text("café".encode(), "cp1252") == ("café", False)  # double-encoded install: real text
    text, bad = decode_text(b"caf\xe9 \xff\xfe \xc3", "cp1252")  # not UTF-8: kept as latin1, reported
    assert text.startswith("café") and bad


def test_mariadb_charsets_map_to_python_codecs():
    assert python_codec("utf8mb3") == python_codec("utf8mb4") == "utf-8"
    assert python_codec("latin1") == "cp1252"
    assert python_codec("binary") is None
    assert python_codec("no-such-charset") == "utf-8"


# -- the read-only guard -----------------------------------------------------------------------------

@pytest.mark.parametrize("sql", ["SELECT 1", "  select * from t", "SHOW GRANTS", "/* c */ SELECT 1",
                                 "(SELECT 1) UNION (SELECT 2)", "WITH x AS (SELECT 1) SELECT * FROM x",
                                 "SELECT ';' AS semi"])
def test_reading_statements_pass_the_guard(sql):
    check_statement(sql)


@pytest.mark.parametrize("sql", ["INSERT INTO t VALUES (1)", "update t set a=1", "DELETE FROM t", "DROP TABLE t",
                                 "SELECT 1; DROP TABLE t", "SELECT * FROM t INTO OUTFILE '/tmp/x'",
                                 "SELECT * FROM t FOR UPDATE", "SET GLOBAL x=1", "LOCK TABLES t READ",
                                 "CALL p()", "", "-- only a comment\n"])
def test_writing_or_locking_statements_are_refused(sql):
    with pytest.raises(WriteRefusedError):
        check_statement(sql)


def test_grants_are_read_per_database():
    ro = ["GRANT USAGE ON *.* TO `ro`@`%`", "GRANT SELECT, SHOW VIEW ON `osticket`.* TO `ro`@`%`"]
    assert parse_grants(ro, "osticket") == set()
    rw = ["GRANT USAGE ON *.* TO `rw`@`%`", "GRANT SELECT, INSERT, UPDATE ON `osticket`.* TO `rw`@`%`"]
    assert parse_grants(rw, "osticket") == {"INSERT", "UPDATE"}
    assert parse_grants(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"], "x") == {
        "ALL PRIVILEGES", "GRANT OPTION"}
    other_db = ["GRANT ALL PRIVILEGES ON `scratch`.* TO `u`@`%`", "GRANT SELECT ON `osticket`.* TO `u`@`%`"]
    assert parse_grants(other_db, "osticket") == set()
    table_level = ["GRANT SELECT, DELETE ON `osticket`.`ost_ticket` TO `u`@`%`"]
    assert parse_grants(table_level, "osticket") == {"DELETE"}
    column_level = ["GRANT SELECT (a, b), UPDATE (c) ON `osticket`.`t` TO `u`@`%`"]
    assert parse_grants(column_level, "osticket") == {"UPDATE"}


# -- versions ----------------------------------------------------------------------------------------

def test_signatures_name_releases():
    assert version_from_signature("5fb92bef17f6b5a2b2fa5ecf8e2d6b4a") == "1.18"
    assert version_from_signature("4BD47D94xxxx") == "1.14"
    assert version_from_signature("b26f29a6") == "1.9.4-1.9.16"
    assert version_from_signature("deadbeef") is None and version_from_signature(None) is None


def test_layout_and_version_come_from_tables_when_the_signature_disagrees_or_is_missing():
    modern = SchemaFacts(frozenset({"ticket", "thread", "thread_entry", "thread_entry_merge", "schedule"}))
    legacy = SchemaFacts(frozenset({"ticket", "ticket_thread", "user"}), ticket_columns=frozenset({"number",
                                                                                                   "status_id"}))
    assert detect_layout(modern) is Layout.MODERN and detect_layout(legacy) is Layout.LEGACY
    assert detect_layout(SchemaFacts(frozenset({"ticket"}))) is None
    assert resolve_version("4bd47d94", modern) == ("1.14", None)
    version, warning = resolve_version("b26f29a6", modern)  # says 1.9, tables say 1.14+
    assert version == "1.14+" and "tables say" in warning
    version, warning = resolve_version("", legacy)
    assert version == "1.9.4+" and "missing" in warning
