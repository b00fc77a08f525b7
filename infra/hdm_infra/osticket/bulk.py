"""Multi-row INSERT batches: rows are escaped into SQL text and sent in large statements, per table."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pymysql.converters import escape_string


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + escape_string(value) + "'"
    if isinstance(value, bytes):
        return "0x" + value.hex() if value else "''"
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as SQL literal")


class BatchInserter:
    """Buffers rows per table and flushes them as multi-row INSERTs of about ``max_bytes`` each."""

    def __init__(self, conn: Any, prefix: str, max_bytes: int = 4_000_000) -> None:
        self.conn = conn
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.columns: dict[str, tuple[str, ...]] = {}
        self.buffers: dict[str, list[str]] = {}
        self.sizes: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.cursor = conn.cursor()
        self.cursor.execute("SET SESSION sql_mode = ''")
        self.cursor.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")

    def add(self, table: str, columns: tuple[str, ...], row: tuple[Any, ...]) -> None:
        known = self.columns.get(table)
        if known is None:
            self.columns[table] = columns
            self.buffers[table] = []
        elif known != columns:
            self.flush(table)
            self.columns[table] = columns
        text = "(" + ",".join([literal(v) for v in row]) + ")"
        self.buffers[table].append(text)
        self.sizes[table] += len(text)
        self.counts[table] += 1
        if self.sizes[table] >= self.max_bytes:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        tables = [table] if table else list(self.buffers)
        for name in tables:
            rows = self.buffers.get(name)
            if not rows:
                continue
            cols = ",".join(f"`{c}`" for c in self.columns[name])
            self.cursor.execute(f"INSERT INTO `{self.prefix}{name}` ({cols}) VALUES " + ",".join(rows))
            self.buffers[name] = []
            self.sizes[name] = 0

    def close(self) -> None:
        self.flush()
        self.conn.commit()
        self.cursor.close()
