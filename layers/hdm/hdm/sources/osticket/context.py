"""What every extractor needs: the guarded connections, table names, columns present, timezone, stats."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar

from hdm.model import Provenance, Record
from hdm.sources.osticket.connection import ReadOnlyConnection, Row
from hdm.sources.osticket.stats import ChunkStats
from hdm.sources.osticket.values import DateConverter
from hdm.sources.osticket.versions import Layout

SYSTEM = "osticket"
T = TypeVar("T")


@dataclass
class Context:
    conn: ReadOnlyConnection  # streams the chunk's main rows
    aux_factory: Callable[[], ReadOnlyConnection]  # a second connection for lookups while streaming
    prefix: str
    version: str
    layout: Layout
    zone: dt.tzinfo
    columns: dict[str, frozenset[str]]  # table suffix → columns present
    config: dict[str, str]
    attachments_dir: Optional[str] = None
    attachment_roots: tuple[str, ...] = ()  # further folders filesystem files may be read from (legacy '6' paths)
    # runs work with a connection of its own in a background thread (OsTicketSource._aside); None: inline on aux
    aside_runner: Optional[Callable[[Callable[[ReadOnlyConnection], Any]], Future]] = None
    stats: ChunkStats = field(default_factory=lambda: ChunkStats("", ""))
    cache: dict[str, Any] = field(default_factory=dict)
    _aux: Optional[ReadOnlyConnection] = None
    _dates: Optional[DateConverter] = None

    # -- names --------------------------------------------------------------------------------

    def t(self, suffix: str) -> str:
        """The quoted table name for a suffix: ``ticket`` → ```ost_ticket```."""
        return f"`{self.prefix}{suffix}`"

    def has_table(self, suffix: str) -> bool:
        return suffix in self.columns

    def has_col(self, suffix: str, column: str) -> bool:
        return column in self.columns.get(suffix, ())

    def col(self, suffix: str, alias: str, *candidates: str, default: str = "NULL") -> str:
        """The first existing column among ``candidates`` as ``alias.col``, else the SQL ``default``."""
        for c in candidates:
            if self.has_col(suffix, c):
                return f"{alias}.`{c}`"
        return default

    @property
    def aux(self) -> ReadOnlyConnection:
        if self._aux is None:
            self._aux = self.aux_factory()
        return self._aux

    def aside(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """``fn(ctx, *args)`` on the source's background connection, while this thread goes on; the result
        comes from the future's ``result()``. ``fn`` must only read (its own connection is ``ctx.aux``) and must
        not touch this chunk's stats."""
        if self.aside_runner is None:
            done: Future[T] = Future()
            try:
                done.set_result(fn(self, *args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                done.set_exception(exc)
            return done

        def work(conn: ReadOnlyConnection) -> T:
            side = dataclasses.replace(self, _aux=conn, _dates=None, stats=ChunkStats(self.stats.chunk_id, "aside"))
            return fn(side, *args)

        return self.aside_runner(work)

    def close_aux(self) -> None:
        if self._aux is not None:
            self._aux.close()
            self._aux = None

    # -- record helpers -----------------------------------------------------------------------

    def prov(self, table: str, source_id: Any) -> Provenance:
        return Provenance(system=SYSTEM, object=table, id=str(source_id), version=self.version)

    def date(self, record: Record, row: Row, column: str, field_name: str, *, utc: bool = False) -> Optional[str]:
        """A date column as ISO UTC; zero/invalid dates become None with a flag on ``record``."""
        value = row.get(column)
        if value is None:
            return None
        dates = self._dates
        if dates is None:
            dates = self._dates = DateConverter(self.zone)
        res = dates.convert(value, already_utc=utc)
        if res.problem:
            record.flag(res.problem, f"{column} held an unusable date; set to null", field=field_name)
        return res.iso

    def text_flags(self, record: Record, row: Row) -> None:
        """Flag columns of ``row`` whose bytes were not valid in their charset (replaced by U+FFFD)."""
        for column in row.bad_text:
            record.flag("invalid_text_bytes", f"{column} held bytes invalid in its charset; replaced with U+FFFD",
                        field=column)

    def emit(self, record: Record) -> Record:
        self.stats.yielded[record.OBJECT.value] += 1
        for f in record.flags:
            self.stats.flags[f.code] += 1
        return record
