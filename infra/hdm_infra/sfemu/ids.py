"""Salesforce record ids: 15-character base ids with the 3-character case-safe suffix."""

from __future__ import annotations

import re

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
POD = "5g"  # two characters standing in for the pod/instance part of a real id


def case_safe_suffix(base15: str) -> str:
    out = []
    for chunk in range(3):
        bits = 0
        for pos, ch in enumerate(base15[chunk * 5:chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        out.append(_SUFFIX[bits])
    return "".join(out)


def make_id(prefix: str, number: int) -> str:
    """The 18-character id of the `number`-th record with key prefix `prefix`."""
    digits = []
    n = number
    for _ in range(10):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    base = prefix + POD + "".join(reversed(digits))
    return base + case_safe_suffix(base)


def normalize_id(value: str) -> str | None:
    """An 18-character id for a 15- or 18-character input, or None when it is not id-shaped."""
    if not isinstance(value, str) or not _ID_SHAPE.match(value):
        return None
    if len(value) == 15:
        return value + case_safe_suffix(value)
    if case_safe_suffix(value[:15]).lower() != value[15:].lower():
        return None
    return value[:15] + case_safe_suffix(value[:15])
