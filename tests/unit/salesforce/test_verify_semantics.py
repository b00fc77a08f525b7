"""Verification knows the org's semantics and reports only real mismatches (no org needed)."""

from __future__ import annotations

import pytest
from hdm.destinations.salesforce.verify import _norm, same_value

CHECKBOX = {"type": "boolean"}
PICK = {"type": "picklist", "length": 255}
MULTI = {"type": "multipicklist", "length": 4099}
TEXT = {"type": "string", "length": 10}
AREA = {"type": "textarea", "length": 32000}
DATETIME = {"type": "datetime"}
DATE = {"type": "date"}
MONEY = {"type": "currency", "scale": 2}
NUMBER = {"type": "double", "scale": 0}
REF = {"type": "reference", "length": 18}


@pytest.mark.parametrize("meta, sent, stored", [
    (CHECKBOX, None, False),  # a checkbox is never null
    (CHECKBOX, "", False),
    (CHECKBOX, "true", True),
    (PICK, "high ", "High"),  # the org keeps its own spelling of the value
    (PICK, "Very  high", "very high"),
    (MULTI, "red;Blue", "Blue;Red"),
    (TEXT, "abcdefghijKLM", "abcdefghij"),  # cut to the field's length (and flagged when the loader cut it)
    (AREA, "line 1\r\nline 2\n", "line 1\nline 2"),
    (DATETIME, "2025-03-16T14:30:00.000Z", "2025-03-16T14:30:00.000+0000"),
    (DATETIME, "2025-03-16T16:30:00+02:00", "2025-03-16T14:30:00.000+0000"),
    (DATETIME, "2025-03-16T14:30:00.123Z", "2025-03-16T14:30:00.000+0000"),  # precision
    (DATE, "2025-03-16", "2025-03-16"),
    (MONEY, "1,234.5", 1234.50),
    (MONEY, 12.345, 12.35),
    (NUMBER, 7, 7.0),
    (REF, "001000000000001AAA", "001000000000001"),
])
def test_not_a_mismatch(meta, sent, stored):
    assert same_value(meta, sent, stored)


@pytest.mark.parametrize("meta, sent, stored", [
    (CHECKBOX, True, False),
    (CHECKBOX, None, True),
    (PICK, "High", "Low"),
    (MULTI, "Red;Blue", "Red"),
    (TEXT, "abcdefghijKLM", "abcdefghiX"),  # the head differs: a real mismatch
    (TEXT, "short", "shorter"),
    (AREA, "a\nb", "a b"),
    (DATETIME, "2025-03-16T14:30:00Z", "2025-03-16T14:31:00.000+0000"),
    (DATE, "2025-03-16", "2025-03-17"),
    (MONEY, 12.34, 12.35),
    (NUMBER, 7, None),
    (PICK, None, "High"),
])
def test_a_real_mismatch(meta, sent, stored):
    assert not same_value(meta, sent, stored)


def test_the_old_normalisation_reported_these():
    # what verification compared before it read the describe: each of these was a false mismatch
    assert _norm(None) != _norm(False)
    assert _norm("high ") != _norm("High")
    assert _norm("abcdefghijKLM") != _norm("abcdefghij")
