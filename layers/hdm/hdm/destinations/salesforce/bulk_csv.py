"""Bulk API 2.0 CSV: rows -> CSV text (None -> ``#N/A`` so a null really clears), results CSV -> dicts.

simple-salesforce's own ``records=`` path writes None as blank (which Bulk reads as "leave unchanged") and
orders columns from a set, so the loader builds the CSV itself and hands it over as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

NULL = "#N/A"


def csv_value(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with the given columns in order; every row must carry every column (missing -> null)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_value(row.get(c)) for c in columns])
    return buf.getvalue()


def parse_csv(text: str) -> list[dict[str, str]]:
    """Rows of a results CSV (values with newlines stay intact, unlike ``str.splitlines``)."""
    if not text or not text.strip():
        return []
    return list(csv.DictReader(io.StringIO(text, newline="")))


def parse_csv_columns(text: str, columns: Sequence[str]) -> Iterator[tuple[str, ...]]:
    """Only the named columns of each row of a results CSV, as tuples in ``columns`` order (a column the file
    lacks reads as ""). Cheaper than ``parse_csv`` for large results: no dict per row, other columns dropped."""
    if not text or not text.strip():
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None) or []
    where = {name: i for i, name in enumerate(header)}
    picks = [where.get(c) for c in columns]
    for row in reader:
        if not row:
            continue
        yield tuple(row[i] if i is not None and i < len(row) else "" for i in picks)


def split_bulk_error(text: str) -> tuple[str, str]:
    """``sf__Error`` text ("CODE:message:fields" or a bare code) -> (code, message)."""
    text = (text or "").strip()
    if not text:
        return "UNKNOWN_ERROR", ""
    code, _, rest = text.partition(":")
    if code.replace("_", "").isalnum() and code.upper() == code and not code.isdigit():
        return code, rest.strip()
    return "UNKNOWN_ERROR", text


def bulk_error_fields(text: str) -> tuple[str, ...]:
    """The fields an ``sf__Error`` names: its last ``:`` part ("CODE:message:Field1,Field2", a real org adds
    " --"). Names only (letters, digits, underscores); anything else is not a field list."""
    parts = (text or "").strip().rsplit(":", 1)
    if len(parts) != 2:
        return ()
    tail = parts[1].strip().removesuffix("--").strip()
    names = tuple(n.strip() for n in tail.split(",") if n.strip())
    if not names or not all(n.replace("_", "").replace(".", "").isalnum() for n in names):
        return ()
    return names
