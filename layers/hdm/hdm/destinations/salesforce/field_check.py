"""Every value checked against the field it goes to, from the org's describe, before any write.

One bad value never costs a record: a value that cannot be converted to its field's type leaves that field
empty; a text longer than the field is cut to the field's length; a value a restricted picklist does not take is
left empty (or, when it differs from an allowed value only by case or spacing, becomes that value). Each change
is flagged with the original text kept (``original``), so the reconciliation report shows what did not arrive.

Generic: it works for any object and field the describe knows (the load phases of every object get it), and
leaves lookups (reference fields), the record's keys and meta keys (``_…``) alone.

Over-long text is truncated rather than emptied: the head of a text is usually what a person needs (a subject,
a name, the start of a note), while an empty field loses it all; the full original is kept in the flag. Values
whose meaning would change when cut (e-mail, URL, restricted picklist) are emptied instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Optional

# flag codes (stable: the report and the exit status count them)
VALUE_EMPTIED = "value_not_loaded"  # could not be converted: field left empty, original kept in the flag
VALUE_TRUNCATED = "value_truncated"  # cut to the field's length, original kept
VALUE_CONVERTED = "value_converted"  # converted to the field's form (info: nothing lost)
FIELD_DROPPED = "field_dropped_on_reject"  # the org refused the record over this field: loaded without it
REQUIRED_MISSING = "required_value_missing"  # a required field is empty
VALUE_LOSS_CODES = frozenset({VALUE_EMPTIED, VALUE_TRUNCATED, FIELD_DROPPED, REQUIRED_MISSING})

TEXT_TYPES = frozenset({"string", "textarea", "phone", "url", "email", "encryptedstring", "combobox", "picklist",
                        "multipicklist"})
SKIP_TYPES = frozenset({"reference", "id", "base64", "anyType", "address", "location", "time"})
ORIGINAL_MAX = 1000  # characters of the original kept in a flag
MAX_DIGITS = 18  # Salesforce number fields hold at most 18 digits (the bound when a describe gives no precision)
_EXACT = Context(prec=4 * MAX_DIGITS)  # room for any value within MAX_DIGITS whole and MAX_DIGITS decimal digits

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9-]+)+$")
_URL = re.compile(r"^\S+$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$", re.IGNORECASE)
_SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})$")
_TRUE = frozenset({"true", "1", "yes", "y", "on", "t", "checked", "x"})
_FALSE = frozenset({"false", "0", "no", "n", "off", "f", "unchecked", ""})


def fold(text: Any) -> str:
    """A text compared loosely: spaces collapsed, case folded (picklist values the org matches so)."""
    return " ".join(str(text).split()).casefold()


def parse_moment(value: Any) -> Optional[dt.datetime]:
    """A datetime from the forms sources write (ISO, ``2025-03-16 00:00:00 UTC``, a date, epoch seconds);
    naive values are UTC. None when it is not a point in time."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if text.isascii() and text.isdigit() and 9 <= len(text) <= 20:  # epoch seconds as text
        return parse_moment(int(text))
    m = _DATETIME.match(text)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hh, mm, ss = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = (m.group(8) or "").upper()
    tz: dt.tzinfo = dt.UTC
    try:
        if zone and zone not in ("Z", "UTC", "GMT"):  # an offset of a day or more is not a zone: ValueError
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "").ljust(4, "0")
            tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
        return dt.datetime(y, mo, d, hh, mm, ss, micro, tzinfo=tz)
    except ValueError:
        return None


def sf_datetime_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_number(value: Any) -> Optional[Decimal]:
    """A number from a value or a formatted text (``1,234.50``, ``$ 12``, ``15 %``); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            d = Decimal(str(value))
        except (InvalidOperation, ValueError):  # ValueError: an int past Python's int-to-text limit
            return None
        return d if d.is_finite() else None
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    text = text.strip("$€£¥%")
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


class FieldChecker:
    """The checks for one object, from its describe."""

    def __init__(self, sobject: str, describe: dict[str, Any]):
        self.sobject = sobject
        self.fields = {f["name"]: f for f in describe.get("fields", [])}

    def required(self, name: str) -> bool:
        f = self.fields.get(name) or {}
        return bool(f) and not f.get("nillable", True) and bool(f.get("createable")) and \
            not f.get("defaultedOnCreate") and f.get("type") != "boolean"

    def check_row(self, row: dict[str, Any], flag: Callable[[dict[str, Any]], None],
                  keep: frozenset[str] = frozenset()) -> None:
        """Convert every value of ``row`` in place; ``flag`` receives one flag dict per change."""
        key = row.get("_source_key")
        for name in [k for k in row if not k.startswith("_") and k not in keep and k != "Id"]:
            meta = self.fields.get(name)
            if meta is None:
                continue
            value = row[name]
            if value is None:
                continue
            try:
                new, code, why = self.check_value(meta, value)
            except Exception as exc:  # last resort: one odd value never costs the chunk; the field is left empty
                new, code, why = None, VALUE_EMPTIED, f"could not be checked ({type(exc).__name__}): left empty"
            if code is None:
                continue
            row[name] = new
            flag({"source_key": key, "code": code, "field": name, "severity": "info" if code == VALUE_CONVERTED
                  else "warning", "reason": f"{self.sobject}.{name}: {why}", "original": kept_original(value),
                  "loaded_as": kept_original(new) if new is not None else None})
        for name in [n for n in self.fields if self.required(n) and n in row and row[n] in (None, "")]:
            flag({"source_key": key, "code": REQUIRED_MISSING, "field": name, "severity": "warning",
                  "reason": f"{self.sobject}.{name} is required and has no value: the org may refuse the record",
                  "original": None, "loaded_as": None})

    def check_value(self, meta: dict[str, Any], value: Any) -> tuple[Any, Optional[str], str]:
        """(value to send, flag code or None when unchanged, why)."""
        t = meta.get("type")
        if t in SKIP_TYPES:
            return value, None, ""
        if t == "boolean":
            return self._boolean(value)
        if t == "date":
            moment = parse_moment(value)
            if moment is None:
                return None, VALUE_EMPTIED, "not a date: left empty"
            out = moment.date().isoformat()  # the date as written (a zone does not move a calendar date)
            return (out, None, "") if out == value else (out, VALUE_CONVERTED, f"date written as {out}")
        if t == "datetime":
            moment = parse_moment(value)
            if moment is None:
                return None, VALUE_EMPTIED, "not a date/time: left empty"
            out = sf_datetime_text(moment)
            return (value, None, "") if _same_moment(value, moment) else (out, VALUE_CONVERTED,
                                                                         f"date/time written as {out}")
        if t in ("double", "currency", "percent", "int", "long"):
            return self._number(meta, value)
        if t in TEXT_TYPES or isinstance(value, str):
            return self._text(meta, value)
        return value, None, ""

    # -- per type -------------------------------------------------------------------------------
    @staticmethod
    def _boolean(value: Any) -> tuple[Any, Optional[str], str]:
        if isinstance(value, bool):
            return value, None, ""
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value), VALUE_CONVERTED, f"checkbox written as {bool(value)}"
        text = str(value).strip().casefold()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE, VALUE_CONVERTED, f"checkbox written as {text in _TRUE}"
        return None, VALUE_EMPTIED, "not a yes/no value: checkbox left unset"

    @staticmethod
    def _number(meta: dict[str, Any], value: Any) -> tuple[Any, Optional[str], str]:
        number = parse_number(value)
        if number is None:
            return None, VALUE_EMPTIED, "not a number: left empty"
        t = meta.get("type")
        scale = 0 if t in ("int", "long") else min(max(int(meta.get("scale") or 0), 0), MAX_DIGITS)
        precision = int(meta.get("precision") or meta.get("digits") or 0)
        whole_max = max((precision or MAX_DIGITS) - scale, 0)
        # digits before the point, read from the exponent (never by turning a huge number into an int or a text)
        whole_digits = number.adjusted() + 1 if number and number.adjusted() >= 0 else 0
        if whole_digits > whole_max:
            return None, VALUE_EMPTIED, f"more than {whole_max} digits before the decimal point: left empty"
        rounded = number.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP, _EXACT) \
            if scale or t in ("int", "long") else number
        if rounded != number and t in ("int", "long"):
            return None, VALUE_EMPTIED, "not a whole number: left empty"
        if rounded.adjusted() + 1 > whole_max:  # rounding carried into one more whole digit (9.999 -> 10.00)
            return None, VALUE_EMPTIED, f"more than {whole_max} digits before the decimal point: left empty"
        out: Any = int(rounded) if t in ("int", "long") else float(rounded)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value) == float(out):
            return value, None, ""
        if rounded != number:
            return out, VALUE_TRUNCATED, f"rounded to {scale} decimal places: {out}"
        return out, VALUE_CONVERTED, f"number written as {out}"

    def _text(self, meta: dict[str, Any], value: Any) -> tuple[Any, Optional[str], str]:
        t = meta.get("type")
        if isinstance(value, (dict, list)):
            return None, VALUE_EMPTIED, "a structured value where the field takes text: left empty"
        text = value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
        code: Optional[str] = None
        why = ""
        if t == "email":
            stripped = text.strip()
            if not _EMAIL.match(stripped):
                return None, VALUE_EMPTIED, "not a valid e-mail address: left empty"
            if stripped != text:
                text, code, why = stripped, VALUE_CONVERTED, "spaces around the address removed"
        if t == "url" and not _URL.match(text.strip()):
            return None, VALUE_EMPTIED, "not a URL: left empty"
        if t == "picklist" and meta.get("restrictedPicklist"):
            allowed = [p["value"] for p in meta.get("picklistValues") or [] if p.get("active", True)]
            if text not in allowed:
                hit = next((a for a in allowed if fold(a) == fold(text)), None)
                if hit is None:
                    return None, VALUE_EMPTIED, "not a value of the restricted picklist: left empty"
                text, code, why = hit, VALUE_CONVERTED, f"picklist value written as {hit!r}"
        if t == "multipicklist":
            allowed = [p["value"] for p in meta.get("picklistValues") or [] if p.get("active", True)]
            choices = [c.strip() for c in text.split(";") if c.strip()]
            if meta.get("restrictedPicklist"):
                kept = []
                for c in choices:
                    hit = c if c in allowed else next((a for a in allowed if fold(a) == fold(c)), None)
                    if hit is not None:
                        kept.append(hit)
                if len(kept) < len(choices):
                    joined = ";".join(dict.fromkeys(kept)) or None
                    return joined, VALUE_EMPTIED, "choices the restricted picklist does not have were left out"
                if kept != choices:
                    text, code, why = ";".join(kept), VALUE_CONVERTED, "choices written as the picklist spells them"
        length = int(meta.get("length") or 0)
        if length and len(text) > length:
            if t in ("email", "url", "picklist", "multipicklist"):
                return None, VALUE_EMPTIED, f"{len(text)} characters, over the field's {length}: left empty"
            return text[:length], VALUE_TRUNCATED, f"{len(text)} characters cut to the field's {length}"
        if code is None and text != value:
            return value, None, ""  # only the JSON form differs (a number sent to a text field): fine
        return text, code, why


def _same_moment(value: Any, moment: dt.datetime) -> bool:
    """Whether the value is already in a form the org reads (``yyyy-MM-ddTHH:mm:ss``, optional ``.SSS``, then
    ``Z`` or ``+/-HH:mm``): anything else (no seconds, microseconds, a space before the zone, one-digit months)
    is refused by a real org, whole request on REST, so it is written out in the org's form."""
    return isinstance(value, str) and _SF_DATETIME.match(value) is not None


def kept_original(value: Any) -> Any:
    """The original value as a flag keeps it (long texts cut to ORIGINAL_MAX characters, with their length)."""
    if isinstance(value, str) and len(value) > ORIGINAL_MAX:
        return value[:ORIGINAL_MAX] + f"… ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * ORIGINAL_MAX:
        return f"(an integer of {value.bit_length()} bits)"  # too long for a text or JSON
    return value


def fields_named_by(error_fields: Optional[list[str]] | tuple[str, ...], message: Optional[str],
                    payload: dict[str, Any]) -> list[str]:
    """The fields of ``payload`` an org error names: its ``fields`` list, or ``[Field__c]`` in the message."""
    named = [f for f in (error_fields or []) if f in payload]
    if not named and message:
        for group in re.findall(r"\[([^\]]+)\]", message):
            named.extend(f.strip() for f in group.split(",") if f.strip() in payload)
    return list(dict.fromkeys(named))
