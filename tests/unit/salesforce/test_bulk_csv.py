"""Bulk 2.0 CSV: nulls are #N/A (blank would mean "leave unchanged"); results parse with embedded newlines."""

from hdm.destinations.salesforce.bulk_csv import build_csv, parse_csv, split_bulk_error


def test_none_becomes_na_so_a_null_really_clears_the_field():
    text = build_csv([{"A": None, "B": "x", "C": True}], ["A", "B", "C"])
    assert text.splitlines()[1] == "#N/A,x,true"


def test_missing_columns_are_nulls_and_column_order_is_the_given_one():
    text = build_csv([{"B": "1"}], ["B", "A"])
    assert text.splitlines() == ["B,A", "1,#N/A"]


def test_values_with_commas_quotes_and_newlines_round_trip():
    rows = [{"K": "k1", "V": 'line one\nline "two", end'}]
    assert parse_csv(build_csv(rows, ["K", "V"])) == rows


def test_results_are_correlated_by_key_even_out_of_order():
    ok = 'sf__Id,sf__Created,hdm_Legacy_Id__c\n"500B",true,ticket:2\n"500A",false,ticket:1\n'
    by_key = {r["hdm_Legacy_Id__c"]: r["sf__Id"] for r in parse_csv(ok)}
    assert by_key == {"ticket:1": "500A", "ticket:2": "500B"}


def test_bulk_error_text_is_split_into_code_and_message():
    assert split_bulk_error("FIELD_CUSTOM_VALIDATION_EXCEPTION:Subject required:Subject") == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Subject required:Subject")
    assert split_bulk_error("UNABLE_TO_LOCK_ROW") == ("UNABLE_TO_LOCK_ROW", "")
    assert split_bulk_error("something odd: x")[0] == "UNKNOWN_ERROR"
