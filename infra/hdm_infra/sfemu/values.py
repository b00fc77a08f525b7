"""Field values: from JSON or CSV input to stored SQLite values, and back to API output."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from .schema import FieldMeta

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})Z?$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
NUMERIC_TYPES = frozenset({"double", "currency", "percent"})


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
    m = _DATETIME.match(text.strip())
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


def parse_date(text: str) -> str | None:
    m = _DATE.match(text.strip())
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


def to_stored(meta: FieldMeta, value: Any, *, from_csv: bool) -> Any:
    """Convert one input value (JSON type, or CSV text) to what the table stores; None stays None."""
    if value is None:
        return None
    t = meta.type
    if t == "boolean":
        if isinstance(value, bool):
            return 1 if value else 0
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return 1 if value.lower() in ("true", "1", "yes") else 0
        raise _bad(meta, value, "type")
    if t == "int":
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value) if not isinstance(value, float) or value.is_integer() else int("x")
        except (TypeError, ValueError):
            raise _bad(meta, value, "type") from None
    if t in NUMERIC_TYPES:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise _bad(meta, value, "type") from None
    if t == "date":
        parsed = parse_date(str(value))
        if parsed is None:
            raise _bad(meta, value, "date")
        return parsed
    if t == "datetime":
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise _bad(meta, value, "date/time")
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


def multipicklist_value(meta: FieldMeta, text: str) -> str | None:
    """A multi-select value: choices joined by ``;`` (spaces around them dropped, repeats kept once, in the
    order given); a restricted field takes only its own values."""
    choices = list(dict.fromkeys(c.strip() for c in text.split(";") if c.strip()))
    if not choices:
        return None
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
