"""A value profile of one source field: null share, distinct values with counts, lengths and parse rates."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

NULL_LIKE = {"", "null", "none", "n/a", "na", "-", "0000-00-00", "0000-00-00 00:00:00"}
MAX_DISTINCT = 50  # a value set is kept (a value domain) up to this many distinct values
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[\d\s().\-/x]{5,}$")
URL = re.compile(r"^(https?://|www\.)\S+$", re.I)
INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?(\d+[.,]\d*|\d*[.,]\d+|\d+)$")
BOOL = {"0", "1", "true", "false", "yes", "no", "y", "n", "on", "off"}


def _is_date(text: str) -> bool:
    head = text[:19].replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            datetime.strptime(head[: len(datetime(2000, 1, 1).strftime(fmt))], fmt)
            return True
        except ValueError:
            continue
    return False


def _choice_keys(text: str) -> Optional[list[str]]:
    """osTicket-style JSON choice answers ({"key": "Label"}) give their labels; anything else ``None``."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return [str(v) for v in parsed.values()] if isinstance(parsed, dict) else None


@dataclass
class Profile:
    rows: int = 0
    nulls: int = 0
    counts: Counter = field(default_factory=Counter)
    max_length: int = 0
    rates: dict[str, float] = field(default_factory=dict)  # format -> share of non-null values that parse
    multi: bool = False  # some value holds more than one choice

    @property
    def non_null(self) -> int:
        return self.rows - self.nulls

    @property
    def null_share(self) -> float:
        return self.nulls / self.rows if self.rows else 1.0

    @property
    def domain(self) -> Optional[dict[str, int]]:
        """The value set with counts when it is small enough to be a value domain."""
        return dict(sorted(self.counts.items())) if 0 < len(self.counts) <= MAX_DISTINCT else None

    def samples(self, k: int = 5) -> list[str]:
        """Half the most frequent values, then the rest in order (deterministic)."""
        frequent = [v for v, _ in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        return frequent[:k]

    def failures(self, fmt: str, k: int = 3) -> list[str]:
        return [v for v in sorted(self.counts) if not FORMATS[fmt](v)][:k]

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "null_share": round(self.null_share, 3), "distinct": len(self.counts),
                "max_length": self.max_length, "rates": {k: round(v, 3) for k, v in sorted(self.rates.items())},
                "multi": self.multi}


FORMATS = {
    "email": lambda v: bool(EMAIL.match(v)),
    "phone": lambda v: bool(PHONE.match(v)) and sum(c.isdigit() for c in v) >= 5,
    "url": lambda v: bool(URL.match(v)), "integer": lambda v: bool(INTEGER.match(v)),
    "decimal": lambda v: bool(DECIMAL.match(v)), "date": _is_date, "bool": lambda v: v.strip().casefold() in BOOL,
}


def profile_values(values: Iterable[Any] = (), counts: Optional[dict[str, int]] = None) -> Profile:
    """The profile of a field's values (a list as read, or value -> count)."""
    pairs: list[tuple[Any, int]] = list(counts.items()) if counts is not None else [(v, 1) for v in values]
    p = Profile()
    expanded: Counter = Counter()
    for raw, n in pairs:
        p.rows += n
        text = "" if raw is None else str(raw).strip()
        if text.casefold() in NULL_LIKE:
            p.nulls += n
            continue
        keys = _choice_keys(text)
        if keys is not None:
            if len(keys) > 1:
                p.multi = True
            for key in keys:
                expanded[key] += n
            continue
        expanded[text] += n
    p.counts = expanded
    total = sum(expanded.values())
    p.max_length = max((len(v) for v in expanded), default=0)
    if total:
        for fmt, test in FORMATS.items():
            p.rates[fmt] = sum(n for v, n in expanded.items() if test(v)) / total
    return p
