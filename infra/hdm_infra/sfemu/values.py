"""Field values: from JSON or CSV input to stored SQLite values, and back to API output."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .schema import FieldMeta

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
# The forms a real org reads (Bulk docs "Valid Date Format in Records": yyyy-MM-dd for dates, no offset;
# yyyy-MM-ddTHH:mm:ss.SSSZ or .SSS+/-HH:mm for date/times, the milliseconds optional). REST reads the same
# forms; anything else ("2025-03-16 00:00:00 UTC", a date in a date/time field) is refused, not guessed at.
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_CSV_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})Z?$")  # older Bulk docs also show 1940-06-07Z
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})$"
)
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
NUMERIC_TYPES = frozenset({"double", "currency", "percent"})
MAX_NUMBER_DIGITS = 18  # number fields hold at most 18 digits
# the xsd type a Bulk error names, and the type a REST (JSON) error names, per describe type
XSD_TYPES = {"date": "date", "datetime": "dateTime", "boolean": "boolean", "int": "int", "double": "double",
             "currency": "double", "percent": "double"}
JSON_TYPES = {"date": "date", "datetime": "datetime", "boolean": "boolean", "int": "int", "double": "double",
              "currency": "double", "percent": "double"}


class ValueError_(Exception):
    """A value that does not fit its field: carries the Salesforce status code."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def now_iso() -> str:
    return format_datetime(dt.datetime.now(dt.UTC))


def format_datetime(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> str | None:
    """Normalise an ISO datetime to the stored form `YYYY-MM-DDTHH:MM:SS.mmm+0000` (UTC)."""
    m = _DATETIME.match(text)
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    micro = int((m.group(7) or "0").ljust(6, "0"))
    tz = m.group(8)
    offset = dt.UTC
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=offset)
    except ValueError:
        return None
    return format_datetime(moment)


def parse_date(text: str, *, from_csv: bool = False) -> str | None:
    m = (_CSV_DATE if from_csv else _DATE).match(text)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def _bad(meta: FieldMeta, value: Any, kind: str) -> ValueError_:
    shown = str(value)[:40]
    return ValueError_("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{meta.label}: value not of required type: {shown}"
                       if kind == "type" else f"{meta.label}: invalid {kind}: {shown}", meta.name)


def _unreadable(meta: FieldMeta, value: Any, from_csv: bool, col: int | None) -> ValueError_:
    """A value the org cannot even read as its field's type. Bulk CSV: the row fails with INVALID_FIELD
    ("Failed to deserialize field at col N. Due to, '…' is not a valid value for the type xsd:…", the field
    named; recorded from a real org in Snowfakery issue #793). REST JSON: the whole request is refused with
    JSON_PARSER_ERROR (the app checks the body before any write, with the position; this is the fallback)."""
    if from_csv:
        return ValueError_("INVALID_FIELD", f"Failed to deserialize field at col {col if col is not None else 0}. "
                           f"Due to, '{value}' is not a valid value for the type xsd:{XSD_TYPES[meta.type]}",
                           meta.name)
    return ValueError_("JSON_PARSER_ERROR", json_mismatch(meta, value) or "Cannot deserialize value", meta.name)


def _token(value: Any) -> tuple[str, str]:
    """The JSON token kind and text a value arrives as (the words of the org's JSON_PARSER_ERROR)."""
    if isinstance(value, bool):
        return ("VALUE_TRUE", "true") if value else ("VALUE_FALSE", "false")
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", str(value)
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", repr(value)
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list):
        return "START_ARRAY", "["
    return "VALUE_STRING", str(value)


def json_mismatch(meta: FieldMeta, value: Any) -> str | None:
    """Why a JSON value cannot be read as its field's type (the start of the org's JSON_PARSER_ERROR message,
    "Cannot deserialize instance of date from VALUE_STRING value …"), or None when it can."""
    if value is None:
        return None
    t = meta.type
    ok = True
    if t == "date":
        ok = isinstance(value, str) and parse_date(value) is not None
    elif t == "datetime":
        ok = isinstance(value, str) and parse_datetime(value) is not None
    elif t == "boolean":
        ok = isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
    elif t == "int" or t in NUMERIC_TYPES:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or \
            (isinstance(value, str) and bool(_NUMBER.match(value)))
    elif t != "base64":
        ok = not isinstance(value, (dict, list))
    if ok:
        return None
    kind, text = _token(value)
    return f"Cannot deserialize instance of {JSON_TYPES.get(t, 'string')} from {kind} value {text[:80]}"


def _number(meta: FieldMeta, value: Any, from_csv: bool, col: int | None) -> Decimal:
    """A number field's value as a Decimal, within the field's digits (precision - scale before the point; an
    int's ``digits``) and rounded to its scale, as a real org stores it; NUMBER_OUTSIDE_VALID_RANGE otherwise."""
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or
                                       (isinstance(value, str) and _NUMBER.match(value))):
        raise _unreadable(meta, value, from_csv, col)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _unreadable(meta, value, from_csv, col) from None
    if not number.is_finite():
        raise _unreadable(meta, value, from_csv, col)
    raw = meta.raw or {}
    if meta.type == "int":
        scale, whole_max = 0, int(raw.get("digits") or 9)
        if number != number.to_integral_value():
            if from_csv:
                raise _unreadable(meta, value, from_csv, col)
            raise _bad(meta, value, "type")
    else:
        precision = int(raw.get("precision") or MAX_NUMBER_DIGITS)
        scale = max(int(raw.get("scale") or 0), 0)
        whole_max = max(precision - scale, 0)
    out_of_range = ValueError_("NUMBER_OUTSIDE_VALID_RANGE",
                               f"{meta.label}: value outside of valid range on numeric field: {str(value)[:40]}",
                               meta.name)
    if number and number.adjusted() + 1 > whole_max:
        raise out_of_range
    rounded = number.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP) if number.adjusted() < 40 else number
    if rounded and rounded.adjusted() + 1 > whole_max:  # rounding carried into one more whole digit
        raise out_of_range
    return rounded


def to_stored(meta: FieldMeta, value: Any, *, from_csv: bool, col: int | None = None) -> Any:
    """Convert one input value (JSON type, or CSV text) to what the table stores; None stays None.
    ``col`` is the value's 0-based CSV column, which a Bulk error names."""
    if value is None:
        return None
    t = meta.type
    if t == "boolean":
        if isinstance(value, bool) and not from_csv:
            return 1 if value else 0
        text = str(value).lower()
        accepted = ("true", "false", "1", "0") if from_csv else ("true", "false")  # xsd:boolean in CSV
        if isinstance(value, str) and text in accepted:
            return 1 if text in ("true", "1") else 0
        raise _unreadable(meta, value, from_csv, col)
    if t == "int":
        return int(_number(meta, value, from_csv, col))
    if t in NUMERIC_TYPES:
        return float(_number(meta, value, from_csv, col))
    if t == "date":
        parsed = parse_date(value, from_csv=from_csv) if isinstance(value, str) else None
        if parsed is None:
            raise _unreadable(meta, value, from_csv, col)
        return parsed
    if t == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _unreadable(meta, value, from_csv, col)
        return parsed
    if t == "base64":
        try:
            return base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise _bad(meta, "(binary)", "base64") from None
    if isinstance(value, (dict, list)):
        raise _bad(meta, value, "type")
    text = value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
    if text == "" and not from_csv:
        return None
    if t in ("reference", "id"):
        return text  # the id's form is checked by the caller (MALFORMED_ID, whatever the length)
    size = len(text.encode("utf-8")) if meta.length_in_bytes else len(text)
    if meta.length and size > meta.length:
        unit = "bytes" if meta.length_in_bytes else "characters"
        raise ValueError_("STRING_TOO_LONG",
                          f"{meta.label}: data value too large: {text[:20]}... (max length={meta.length} {unit})",
                          meta.name)
    if t == "email" and not _EMAIL.match(text):
        raise ValueError_("INVALID_EMAIL_ADDRESS", f"{meta.label}: invalid email address: {text[:3]}***", meta.name)
    if t == "picklist" and meta.restricted and text not in meta.picklist:
        raise ValueError_("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"{meta.label}: bad value for restricted picklist field: {text[:40]}", meta.name)
    if t == "multipicklist":
        return multipicklist_value(meta, text)
    return text


MAX_MULTIPICKLIST_SELECTIONS = 100
MAX_MULTIPICKLIST_VALUE_LENGTH = 255


def multipicklist_value(meta: FieldMeta, text: str) -> str | None:
    """A multi-select value: choices joined by ``;`` (spaces around them dropped, repeats kept once, in the
    order given); a restricted field takes only its own values."""
    choices = list(dict.fromkeys(c.strip() for c in text.split(";") if c.strip()))
    if not choices:
        return None
    long_one = next((c for c in choices if len(c) > MAX_MULTIPICKLIST_VALUE_LENGTH), None)
    if long_one is not None:  # salesforce-next.md §9: a value holds at most 255 characters (code [unverified])
        raise ValueError_("STRING_TOO_LONG", f"{meta.label}: data value too large: {long_one[:20]}... (max length="
                          f"{MAX_MULTIPICKLIST_VALUE_LENGTH} characters per value)", meta.name)
    if len(choices) > MAX_MULTIPICKLIST_SELECTIONS:
        raise ValueError_("TOO_MANY_ENUM_VALUE", f"{meta.label}: too many values selected: {len(choices)} (max "
                          f"{MAX_MULTIPICKLIST_SELECTIONS})", meta.name)
    if meta.restricted:
        bad = [c for c in choices if c not in meta.picklist]
        if bad:
            raise ValueError_("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"{meta.label}: bad value for restricted picklist field: {bad[0][:40]}", meta.name)
    return ";".join(choices)


def to_output(meta: FieldMeta, value: Any) -> Any:
    """A stored value as the REST API returns it in JSON."""
    if value is None:
        return None
    if meta.type == "boolean":
        return bool(value)
    if meta.type in NUMERIC_TYPES:
        return float(value)
    if meta.type == "int":
        return int(value)
    if meta.type == "base64":
        return None
    return value


def to_csv_text(meta: FieldMeta | None, value: Any) -> str:
    if value is None:
        return ""
    if meta is not None and meta.type == "boolean":
        return "true" if value else "false"
    if isinstance(value, bytes):
        return ""
    return str(value)
