"""A read-only pymysql connection: checks its own grants, refuses writing statements, decodes text safely.

* Encrypted off this machine: a host that is not loopback (or a unix socket) is reached only over TLS with the
  server's certificate verified (``ConnParams.tls``), unless ``insecure_plaintext`` says otherwise by name; the
  authentication plugins that send the password as plain text (``mysql_clear_password``, PAM's ``dialog``) are
  refused before the password leaves, TLS or not.
* Read-only by construction: every statement passes a guard that allows only SELECT/SHOW (and the
  session/transaction statements the class itself issues); transactions are READ ONLY; at connect the
  account's grants are read (its own, every role granted to it, enabled or not, and PUBLIC; wildcard database
  patterns, table, column and routine grants; see :mod:`hdm.sources.osticket.grants`) and an account that could
  write is refused unless ``allow_writable`` (then a warning is logged).
* Text comes back as raw bytes (``character_set_results = NULL``) and is decoded here with the
  column's own charset (binary columns as UTF-8), so an invalid byte is replaced and reported instead of
  crashing the read. ``stream_raw`` keeps bytes for blobs.
* TIMESTAMP columns are read with the session in UTC; DATETIME columns are naive (``db_timezone``).
"""

from __future__ import annotations

import codecs
import decimal
import logging
import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pymysql
import pymysql.constants.SERVER_STATUS
import pymysql.converters
import pymysql.cursors
import pymysql.protocol
from pymysql.constants import FIELD_TYPE

from hdm.sources.osticket.errors import (
    NotOsTicketError,
    OsTicketAuthError,
    OsTicketConnectionError,
    OsTicketError,
    OsTicketTlsError,
    WritableAccountError,
    WriteRefusedError,
)
from hdm.sources.osticket.grants import parse_grants, quote_identifier, role_grants, writing_grants  # noqa: F401
from hdm.sources.osticket.values import decode_text
from hdm.sources.tls import TlsOptions, TlsSetupError, is_loopback_host

log = logging.getLogger(__name__)

_ALLOWED_FIRST_WORDS = {"SELECT", "SHOW", "WITH", "DESCRIBE", "DESC", "EXPLAIN"}
_COMMENT_RE = re.compile(r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*|#[^\n]*\n\s*)*", re.S)

def _decimal(raw: bytes | str) -> decimal.Decimal:
    return decimal.Decimal(raw.decode("ascii") if isinstance(raw, (bytes, bytearray)) else raw)


# pymysql's converters, with DECIMAL taking the raw bytes that use_unicode=False hands over
CONVERSIONS = dict(pymysql.converters.conversions)
CONVERSIONS[FIELD_TYPE.DECIMAL] = CONVERSIONS[FIELD_TYPE.NEWDECIMAL] = _decimal

_TEXT_TYPES = {FIELD_TYPE.STRING, FIELD_TYPE.VAR_STRING, FIELD_TYPE.VARCHAR, FIELD_TYPE.BLOB, FIELD_TYPE.TINY_BLOB,
               FIELD_TYPE.MEDIUM_BLOB, FIELD_TYPE.LONG_BLOB, FIELD_TYPE.ENUM, FIELD_TYPE.SET, FIELD_TYPE.JSON}


def check_statement(sql: str) -> None:
    """Raise :class:`WriteRefusedError` unless ``sql`` is a single reading statement."""
    body = _COMMENT_RE.sub("", sql, count=1).lstrip("( \t\r\n")
    first = body.split(None, 1)[0].upper() if body.split() else ""
    if first not in _ALLOWED_FIRST_WORDS:
        raise WriteRefusedError(f"refused a {first or 'empty'} statement: the osTicket source only reads")
    stripped = body.rstrip().rstrip(";")
    if ";" in _strip_quoted(stripped):
        raise WriteRefusedError("refused a multi-statement query: the osTicket source only reads")
    if re.search(r"\b(INTO\s+(OUTFILE|DUMPFILE|@)|FOR\s+UPDATE|LOCK\s+IN\s+SHARE\s+MODE)\b",
                 _strip_quoted(stripped), re.I):
        raise WriteRefusedError("refused a SELECT that writes or locks: the osTicket source only reads")


def _strip_quoted(sql: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", "''", sql)


def python_codec(charset: Optional[str]) -> Optional[str]:
    """The Python codec for a MariaDB charset name (``None`` = binary, keep bytes)."""
    if not charset or charset == "binary":
        return None
    name = charset.lower()
    if name.startswith("utf8"):
        return "utf-8"
    special = {"latin1": "cp1252", "ucs2": "utf-16-be", "utf16": "utf-16-be", "utf16le": "utf-16-le",
               "utf32": "utf-32-be", "koi8r": "koi8-r", "koi8u": "koi8-u", "sjis": "shift_jis", "ujis": "euc_jp",
               "tis620": "tis-620", "hebrew": "iso8859-8", "greek": "iso8859-7", "latin2": "iso8859-2",
               "latin5": "iso8859-9", "latin7": "iso8859-13", "eucjpms": "euc_jp", "cp932": "cp932"}
    codec = special.get(name, name)
    try:
        codecs.lookup(codec)
    except LookupError:
        return "utf-8"
    return codec


@dataclass
class DecodeProblems:
    """Columns whose bytes were invalid in the current row (reset per row by the caller)."""

    columns: list[str] = field(default_factory=list)


class Row(dict):
    """A result row by column name; ``bad_text`` lists columns whose bytes were invalid (empty for most rows)."""

    # a class default, set on the instance only when a column was bad: no Python-level __init__ per row
    bad_text: Sequence[str] = ()


_INT_TYPES = {FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.LONG, FIELD_TYPE.LONGLONG, FIELD_TYPE.INT24,
              FIELD_TYPE.YEAR}
_DATE_TYPES = {FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP, FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE}
_RAW, _TEXT, _INT, _CONVERT = 0, 1, 2, 3


_COMPILED: dict[tuple, Any] = {}  # (names, plan) → unrolled parse_at, shared by results of the same shape


class RowParser:
    """Turns one row packet of the text protocol into a :class:`Row` in a single pass.

    pymysql's own row reader makes several method calls per column; on the extraction hot path that is most
    of the per-row cost. This walks the length-coded values of the packet directly and decodes each by a plan
    made once per result: text with its column's codec (invalid bytes replaced and named in ``bad_text``),
    integers with ``int``, dates kept as ASCII bytes, anything else through pymysql's converter.
    """

    __slots__ = ("names", "plan", "parse_at")

    def __init__(self, names: list[str], plan: list[tuple[int, Any, Optional[str]]]) -> None:
        self.names = names
        self.plan = plan  # per column: (kind, fast codec or converter, codec for the slow path)
        key = (tuple(names), tuple(plan))
        compiled = _COMPILED.get(key)
        if compiled is None:
            if len(_COMPILED) >= 256:
                _COMPILED.clear()
            compiled = _COMPILED[key] = self._compile()
        self.parse_at = compiled

    def _compile(self) -> Any:
        """``parse_at`` for this result's columns with the per-column loop unrolled (the common case: valid text,
        whole rows); anything else (invalid bytes, a short row) is parsed again by :meth:`parse_general`."""
        env: dict[str, Any] = {"Row": Row, "names": tuple(self.names), "long_value": _long_value,
                               "general": self.parse_general}
        lines = ["def parse_at(data, pos, end):", "    start = pos", "    try:"]
        values = []
        for i, (kind, fast, _codec) in enumerate(self.plan):
            v = f"v{i}"
            values.append(v)
            if kind == _TEXT:
                env[f"c{i}"] = fast
                convert = f"{v} = {v}.decode(c{i})"
            elif kind == _INT:
                convert = f"{v} = int({v})"
            elif kind == _CONVERT:
                env[f"f{i}"] = fast
                convert = f"{v} = f{i}({v})"
            else:
                convert = "pass"
            lines += [
                "        n = data[pos]",
                "        if n < 251:",
                f"            pos += 1; {v} = data[pos:pos + n]; pos += n; {convert}",
                "        elif n == 251:",
                f"            pos += 1; {v} = None",
                "        else:",
                f"            {v}, pos = long_value(data, pos); {convert}",
            ]
        lines += [
            "    except (UnicodeDecodeError, ValueError, IndexError):",
            "        return general(data, start, end)",
            "    if pos != end:",
            "        return general(data, start, end)",
            f"    return Row(zip(names, ({', '.join(values)}{',' if len(values) == 1 else ''}), strict=True))",
        ]
        exec(compile("\n".join(lines), f"<row parser {len(values)} columns>", "exec"), env)  # noqa: S102
        return env["parse_at"]

    @classmethod
    def for_result(cls, result: Any, codec_of: dict[int, Optional[str]]) -> Optional[RowParser]:
        fields = getattr(result, "fields", None)
        if not fields or not hasattr(result, "_read_row_from_packet"):
            return None
        names: list[str] = []
        plan: list[tuple[int, Any, Optional[str]]] = []
        for f in fields:
            names.append(f.name.decode() if isinstance(f.name, bytes) else f.name)
            if f.type_code in _TEXT_TYPES:
                codec = codec_of.get(f.charsetnr) or "utf-8"
                plan.append((_TEXT, "utf-8" if codec == "cp1252" else codec, codec))
            elif f.type_code in _INT_TYPES:
                plan.append((_INT, None, None))
            elif f.type_code in _DATE_TYPES:
                plan.append((_RAW, None, None))
            else:
                conv = CONVERSIONS.get(f.type_code)
                plan.append((_CONVERT, conv, None) if conv is not None and conv is not pymysql.converters.through
                            else (_RAW, None, None))
        return cls(names, plan)

    def parse(self, packet: Any) -> Row:
        """A row from a pymysql packet (pymysql's ``_read_row_from_packet`` shape)."""
        data: bytes = packet._data
        return self.parse_at(data, 0, len(data))

    def parse_general(self, data: bytes, pos: int, end: int) -> Row:
        """A row from the payload ``data[pos:end]``, column by column, whatever it holds."""
        values: list[Any] = []
        append = values.append
        bad: Optional[list[str]] = None
        for i, (kind, fast, codec) in enumerate(self.plan):
            if pos >= end:  # a short row (old servers): the remaining columns are NULL
                append(None)
                continue
            n = data[pos]
            if n < 251:
                pos += 1
            elif n == 251:
                append(None)
                pos += 1
                continue
            elif n == 252:
                n = data[pos + 1] | data[pos + 2] << 8
                pos += 3
            elif n == 253:
                n = data[pos + 1] | data[pos + 2] << 8 | data[pos + 3] << 16
                pos += 4
            else:
                n = int.from_bytes(data[pos + 1:pos + 9], "little")
                pos += 9
            value: Any = data[pos:pos + n]
            pos += n
            if kind == _TEXT:
                try:
                    value = value.decode(fast)
                except UnicodeDecodeError:
                    value, invalid = decode_text(value, codec or "utf-8")
                    if invalid:
                        if bad is None:
                            bad = []
                        bad.append(self.names[i])
            elif kind == _INT:
                value = int(value)
            elif kind == _CONVERT:
                value = fast(value)
            append(value)
        row = Row(zip(self.names, values, strict=False))
        if bad:
            row.bad_text = bad
        return row


def _long_value(data: bytes, pos: int) -> tuple[bytes, int]:
    """A length-coded value whose length needs 2, 3 or 8 more bytes (values of 251 bytes and longer)."""
    n = data[pos]
    if n == 252:
        n = data[pos + 1] | data[pos + 2] << 8
        pos += 3
    elif n == 253:
        n = data[pos + 1] | data[pos + 2] << 8 | data[pos + 3] << 16
        pos += 4
    elif n == 254:
        n = int.from_bytes(data[pos + 1:pos + 9], "little")
        pos += 9
    else:
        raise ValueError(f"not a length-coded value (0x{n:02x})")
    return data[pos:pos + n], pos + n


MAX_ROLES = 64  # roles granted directly to the account that are inspected (each one a SET ROLE + SHOW GRANTS)
_MAX_PAYLOAD = 0xFFFFFF  # a payload this long continues in the next packet
_READ_SIZE = 256 * 1024


class RowStream:
    """The rows of one unbuffered (server-side cursor) result, read straight off the connection's socket buffer.

    pymysql reads each row packet with several method calls and two buffered reads before its row reader
    runs; for narrow rows that is most of the cost of a read. This reads the socket buffer in large blocks,
    splits the packets itself (sequence ids checked, payloads of 16 MiB and more joined, error packets raised
    as pymysql raises them) and hands each payload to :meth:`RowParser.parse_at` in place. At the closing EOF
    packet it leaves the pymysql result and connection exactly as pymysql's own reader would. Only ever used
    while the result is the connection's current unbuffered result; :meth:`drain` finishes a result whose
    consumer stopped early.
    """

    def __init__(self, conn: Any, result: Any, parser: RowParser) -> None:
        self.conn = conn
        self.result = result
        self.parser = parser
        self._buf = b""
        self._pos = 0
        self.done = False
        self.rows = 0  # rows handed out (counted when the result ends or is drained)

    @classmethod
    def for_result(cls, conn: Any, result: Any, parser: RowParser) -> Optional[RowStream]:
        needed = ("_rfile", "_next_seq_id", "_sock", "_read_timeout", "_current_timeout", "_force_close")
        if not all(hasattr(conn, a) for a in needed) or getattr(result, "unbuffered_active", None) is not True:
            return None
        if getattr(conn, "_result", None) is not result:
            return None
        return cls(conn, result, parser)

    def __iter__(self) -> Iterator[Row]:
        parse_at = self.parser.parse_at
        conn = self.conn
        n = 0
        try:
            while not self.done:
                # the common case inline: a whole row packet already buffered, in sequence, not EOF/error/long
                buf, pos = self._buf, self._pos
                if len(buf) - pos >= 5:
                    length = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
                    start = pos + 4
                    end = start + length
                    first = buf[start]
                    # a row payload never starts with 0xFF (error), and with 0xFE only for a value of 16 MiB+
                    if (end <= len(buf) and 0 < length < _MAX_PAYLOAD and buf[pos + 3] == conn._next_seq_id
                            and first < 0xFE):
                        conn._next_seq_id = (conn._next_seq_id + 1) & 0xFF
                        self._pos = end
                        n += 1
                        yield parse_at(buf, start, end)
                        continue
                payload, start, end = self._next_payload()
                if payload is None:
                    return
                n += 1
                yield parse_at(payload, start, end)
        finally:
            self.rows += n

    def drain(self) -> None:
        while not self.done:
            self._next_payload()

    # -- packets ---------------------------------------------------------------------------------

    def _fill(self, need: int) -> None:
        """Make sure ``need`` unread bytes are buffered."""
        have = len(self._buf) - self._pos
        if have >= need:
            return
        parts = [self._buf[self._pos:]]
        conn = self.conn
        if conn._current_timeout != conn._read_timeout:
            conn._sock.settimeout(conn._read_timeout)
            conn._current_timeout = conn._read_timeout
        while have < need:
            try:
                block = conn._rfile.read1(max(_READ_SIZE, need - have))
            except OSError as exc:
                conn._force_close()
                raise pymysql.err.OperationalError(2013, f"Lost connection to MySQL server during query ({exc})") \
                    from None
            if not block:
                conn._force_close()
                raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
            parts.append(block)
            have += len(block)
        self._buf = b"".join(parts)
        self._pos = 0

    def _packet(self) -> tuple[int, int]:
        """The next packet's payload as (start, end) in ``self._buf``."""
        self._fill(4)
        buf, pos = self._buf, self._pos
        length = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
        seq = buf[pos + 3]
        conn = self.conn
        if seq != conn._next_seq_id:
            conn._force_close()
            self.done = True
            if seq == 0:  # MariaDB sends an error with sequence 0 when it shuts down
                raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
            raise pymysql.err.InternalError(f"Packet sequence number wrong - got {seq} expected {conn._next_seq_id}")
        conn._next_seq_id = (seq + 1) & 0xFF
        self._fill(4 + length)
        start = self._pos + 4
        self._pos = start + length
        return start, start + length

    def _next_payload(self) -> tuple[Optional[bytes], int, int]:
        start, end = self._packet()
        buf = self._buf
        if end - start == _MAX_PAYLOAD:  # a long row: join the continuation packets
            parts = [buf[start:end]]
            while True:
                s2, e2 = self._packet()
                parts.append(self._buf[s2:e2])
                if e2 - s2 < _MAX_PAYLOAD:
                    break
            buf = b"".join(parts)
            start, end = 0, len(buf)
        first = buf[start] if end > start else -1
        if first == 0xFE and end - start < 9:  # EOF: the result is complete
            self._finish(buf[start:end])
            return None, 0, 0
        if first == 0xFF:
            self._error(buf[start:end])
        return buf, start, end

    def _finish(self, eof: bytes) -> None:
        self.done = True
        if self._pos != len(self._buf):  # the server sent more than this result: never expected here
            self.conn._force_close()
            raise pymysql.err.InternalError("unexpected data after the end of a result; connection closed")
        result = self.result
        if len(eof) >= 5:
            result.warning_count = eof[1] | eof[2] << 8
            result.has_next = bool((eof[3] | eof[4] << 8) & pymysql.constants.SERVER_STATUS.SERVER_MORE_RESULTS_EXISTS)
        result.unbuffered_active = False
        result.connection = None
        result.rows = None

    def _error(self, payload: bytes) -> None:
        self.done = True
        self.result.unbuffered_active = False
        pymysql.protocol.MysqlPacket(payload, self.conn.encoding).raise_for_error()


@dataclass
class ConnParams:
    """Where and how to connect. ``tls``: TLS with the server verified (required for a host that is not
    loopback); ``insecure_plaintext``: the named opt-out that lets a remote host go without it."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = ""
    password: str = field(default="", repr=False)
    database: str = ""
    unix_socket: Optional[str] = None
    connect_timeout: int = 10
    read_timeout: Optional[int] = None
    tls: Optional[TlsOptions] = None
    insecure_plaintext: bool = False

    @classmethod
    def of(cls, params: ConnParams | dict[str, Any]) -> ConnParams:
        if isinstance(params, ConnParams):
            return params
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        if "db" in params and "database" not in known:
            known["database"] = params["db"]
        if "passwd" in params and "password" not in known:
            known["password"] = params["passwd"]
        if "ssl" in params and "tls" not in known:
            known["tls"] = params["ssl"]
        if "insecure_plaintext_connection" in params and "insecure_plaintext" not in known:
            known["insecure_plaintext"] = bool(params["insecure_plaintext_connection"])
        if known.get("tls") is not None:
            known["tls"] = TlsOptions.of(known["tls"])
        return cls(**known)

    @property
    def local(self) -> bool:
        """The connection never leaves this machine (a unix socket, or a loopback host)."""
        return bool(self.unix_socket) or is_loopback_host(self.host)

    def describe(self) -> str:
        where = self.unix_socket or f"{self.host}:{self.port}"
        return f"{self.user or '?'}@{where}/{self.database or '?'}"


class ReadOnlyConnection:
    """One guarded connection. ``rows`` buffers a (small) result; ``stream`` reads with a server-side cursor."""

    def __init__(self, params: ConnParams, *, allow_writable: bool = False, check_grants: bool = True) -> None:
        self.params = params
        self.statements = 0
        self.rows_fetched = 0  # rows the server returned to data statements (rows/stream/stream_raw)
        # when a list: every data statement, with its arguments bound, is appended (benchmarks replay them)
        self.statement_log: Optional[list[str]] = None
        tls_arguments = _tls_arguments(params)
        try:
            self._conn = pymysql.connect(
                host=params.host, port=params.port, user=params.user, password=params.password,
                database=params.database or None, unix_socket=params.unix_socket, charset="utf8mb4",
                use_unicode=False, autocommit=True, connect_timeout=params.connect_timeout,
                read_timeout=params.read_timeout, cursorclass=pymysql.cursors.Cursor, conv=CONVERSIONS,
                auth_plugin_map=REFUSED_AUTH_PLUGINS, **tls_arguments,
            )
        except pymysql.err.OperationalError as exc:
            raise _connect_error(exc, params) from None
        except pymysql.err.InternalError as exc:  # pragma: no cover - server-specific codes
            raise _connect_error(exc, params) from None
        try:
            self.tls_version: Optional[str] = self._tls_version()  # e.g. "TLSv1.3"; None when in clear
            self.tls_verified = params.tls is not None  # TLS with the server's certificate checked
            if params.tls is not None:
                if not self.tls_version:  # pymysql's ssl= makes TLS mandatory; this says so independently
                    raise OsTicketTlsError(f"the connection to {params.describe()} is not encrypted although TLS "
                                           "is required")
            # session setup: not data writes. Raw bytes out, UTC for TIMESTAMP columns, osTicket's own sql_mode.
            self._session("SET SESSION character_set_results = NULL, time_zone = '+00:00', sql_mode = ''")
            self._session("SET SESSION TRANSACTION READ ONLY")
            self._codecs = self._load_codecs()
            self.writable_privileges: set[str] = set()  # what could write, e.g. "INSERT ON `db`.* (through role r)"
            if check_grants:
                self.writable_privileges = self._writable_privileges()
                if self.writable_privileges and not allow_writable:
                    raise WritableAccountError(
                        f"the account {params.user!r} could write to {params.database!r}: "
                        f"{'; '.join(sorted(self.writable_privileges))}. Use a read-only account (SELECT and SHOW "
                        "VIEW only, no write-capable role) or set source.allow_writable: true")
                if self.writable_privileges:
                    log.warning("the account %r could write to %r (%s); continuing because allow_writable is set: "
                                "only the read-only statement guard and READ ONLY transactions stop writes",
                                params.user, params.database, "; ".join(sorted(self.writable_privileges)))
        except BaseException:
            self.close()
            raise

    # -- statements --------------------------------------------------------------------------

    def _session(self, sql: str) -> None:
        """Session and transaction control the class issues itself (never data changes)."""
        if not re.match(r"^(SET SESSION |START TRANSACTION( WITH CONSISTENT SNAPSHOT)?(, )?(READ ONLY)?$|ROLLBACK$"
                        r"|SET ROLE (NONE|`(?:[^`]|``)+`)$)", sql):
            raise WriteRefusedError("refused a session statement that is not on the allow-list")
        with self._conn.cursor() as cur:
            cur.execute(sql)

    def begin_snapshot(self) -> None:
        """A read-only transaction with a consistent snapshot (InnoDB; MyISAM tables ignore it)."""
        self._session("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def end_snapshot(self) -> None:
        self._session("ROLLBACK")

    def _note(self, cur: Any, sql: str, args: Any) -> None:
        check_statement(sql)
        self.statements += 1
        if self.statement_log is not None:
            self.statement_log.append(cur.mogrify(sql, args))

    def rows(self, sql: str, args: Any = None) -> list[Row]:
        with self._conn.cursor() as cur:
            self._note(cur, sql, args)
            try:
                cur.execute(sql, args)
            except pymysql.err.ProgrammingError as exc:
                raise _query_error(exc) from None
            names, codecs_ = self._columns(cur)
            raw = cur.fetchall()
            self.rows_fetched += len(raw)
            return [self._decode(names, codecs_, r) for r in raw]

    def scalar(self, sql: str, args: Any = None) -> Any:
        rows = self.rows(sql, args)
        if not rows:
            return None
        return next(iter(rows[0].values()))

    def stream(self, sql: str, args: Any = None, batch: int = 2000) -> Iterator[Row]:
        """Rows one at a time through a server-side cursor; nothing else may run on this connection meanwhile.

        Unlike :meth:`rows`, DATE/DATETIME/TIMESTAMP values stay the server's ASCII bytes (``b"2024-01-31 12:00:00"``;
        :class:`hdm.sources.osticket.values.DateConverter` turns them into UTC cheaply), and each row is parsed
        straight from its packet into text, ints and bytes in one pass (see :class:`RowParser`).
        """
        cur = self._conn.cursor(pymysql.cursors.SSCursor)
        try:
            self._note(cur, sql, args)
            try:
                cur.execute(sql, args)
            except pymysql.err.ProgrammingError as exc:
                raise _query_error(exc) from None
            result = cur._result
            parser = RowParser.for_result(result, self._codecs)
            if parser is None:  # pragma: no cover - a pymysql whose result internals differ: the plain path
                names, codecs_ = self._columns(cur)
                while chunk := cur.fetchmany(batch):
                    self.rows_fetched += len(chunk)
                    for r in chunk:
                        yield self._decode(names, codecs_, r)
                return
            reader = RowStream.for_result(self._conn, result, parser)
            if reader is None:  # pragma: no cover - pymysql internals differ: its own packet reader, our parser
                result._read_row_from_packet = parser.parse
                while chunk := cur.fetchmany(batch):
                    self.rows_fetched += len(chunk)
                    yield from chunk
                return
            try:
                yield from reader
            finally:
                reader.drain()  # a consumer that stopped early: read the rest so the connection stays in step
                self.rows_fetched += reader.rows
        finally:
            cur.close()

    def fetch_all(self, sql: str, args: Any = None) -> list[Row]:
        """Every row of a chunk-sized result through :meth:`stream` (dates as bytes), as a list."""
        return list(self.stream(sql, args))

    def stream_raw(self, sql: str, args: Any = None) -> Iterator[tuple]:
        """Raw tuples (bytes stay bytes) through a server-side cursor, for blobs."""
        cur = self._conn.cursor(pymysql.cursors.SSCursor)
        try:
            self._note(cur, sql, args)
            cur.execute(sql, args)
            while True:
                r = cur.fetchone()
                if r is None:
                    break
                self.rows_fetched += 1
                yield r
        finally:
            cur.close()

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection is not an error worth raising
            pass

    # -- helpers -----------------------------------------------------------------------------

    def _load_codecs(self) -> dict[int, Optional[str]]:
        with self._conn.cursor() as cur:
            cur.execute("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL")
            return {int(i): python_codec(cs.decode() if isinstance(cs, bytes) else cs) for i, cs in cur.fetchall()}

    def _columns(self, cur: Any) -> tuple[list[str], list[Optional[str]]]:
        result = cur._result  # pymysql keeps the column descriptors (with charset ids) here
        names: list[str] = []
        cods: list[Optional[str]] = []
        for f in result.fields if result is not None and result.fields else []:
            name = f.name.decode() if isinstance(f.name, bytes) else f.name
            names.append(name)
            if f.type_code in _TEXT_TYPES:
                # binary columns (BLOB/VARBINARY, e.g. a half-done charset repair) are read as UTF-8 text here;
                # raw bytes (file_chunk.filedata) are read through stream_raw instead
                cods.append(self._codecs.get(f.charsetnr) or "utf-8")
            else:
                cods.append(None)
        return names, cods

    @staticmethod
    def _decode(names: list[str], cods: list[Optional[str]], raw: tuple) -> Row:
        row = Row(zip(names, raw, strict=False))
        for name, codec, value in zip(names, cods, raw, strict=False):
            if codec is None or value is None:
                continue
            try:  # fast path: valid text (latin1 columns are tried as UTF-8 first, see decode_text)
                row[name] = value.decode("utf-8" if codec == "cp1252" else codec)
            except UnicodeDecodeError:
                row[name], bad = decode_text(bytes(value), codec)
                if bad:
                    row.bad_text = [*row.bad_text, name]
        return row

    def _tls_version(self) -> Optional[str]:
        with self._conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            row = cur.fetchone()
        value = row[1] if row else None
        value = value.decode() if isinstance(value, (bytes, bytearray)) else value
        return value or None

    def _grant_lines(self, sql: str) -> list[Optional[str]]:
        """The first column of each row (text), outside the data-statement counters."""
        check_statement(sql)
        with self._conn.cursor() as cur:
            cur.execute(sql)
            return [(row[0].decode() if isinstance(row[0], (bytes, bytearray)) else row[0])
                    for row in cur.fetchall()]

    def _writable_privileges(self) -> set[str]:
        """What could write to the database: the account's own grants, those of every role granted to it
        (enabled or not, nested roles included) and of PUBLIC. A role whose grants cannot be read counts, and so
        do the roles beyond the first ``MAX_ROLES`` (their grants are not read)."""
        own = self._grant_lines("SHOW GRANTS FOR CURRENT_USER()")
        lines: list[tuple[str, Optional[str]]] = [(line, None) for line in own]
        # the session's view adds the enabled default role and PUBLIC (MariaDB 10.11+)
        lines += [(line, "the default role or PUBLIC") for line in self._grant_lines("SHOW GRANTS") if line not in own]
        granted = role_grants(own)
        roles, beyond = granted[:MAX_ROLES], granted[MAX_ROLES:]
        unreadable: list[str] = []
        if "mariadb" in (self._conn.get_server_info() or "").lower():
            current = self._grant_lines("SELECT CURRENT_ROLE()")[0] if roles else None
            try:
                for name, _host in roles:
                    try:
                        self._session(f"SET ROLE {quote_identifier(name)}")
                        lines += [(line, f"role {name}") for line in self._grant_lines("SHOW GRANTS FOR CURRENT_ROLE")]
                    except pymysql.MySQLError:
                        unreadable.append(name)
            finally:
                if roles:
                    self._session(f"SET ROLE {quote_identifier(current)}" if current else "SET ROLE NONE")
        else:  # MySQL 8: roles are expanded by SHOW GRANTS ... USING; mandatory roles apply to every account
            try:
                mandatory = str(self._grant_lines("SELECT @@GLOBAL.mandatory_roles")[0] or "")
            except pymysql.MySQLError:
                mandatory = ""
            roles += [r for r in role_grants([f"GRANT {mandatory} TO x"] if mandatory else []) if r not in roles]
            if roles:
                using = ", ".join(quote_identifier(n) + (f"@{quote_identifier(h)}" if h else "") for n, h in roles)
                try:
                    lines += [(line, "roles " + ", ".join(n for n, _ in roles))
                              for line in self._grant_lines(f"SHOW GRANTS FOR CURRENT_USER() USING {using}")]
                except pymysql.MySQLError:
                    unreadable += [n for n, _ in roles]
        found = set(writing_grants(lines, self.params.database))
        found.update(f"role {name} (its grants could not be read)" for name in unreadable)
        if beyond:  # not inspected, so not known to be harmless: they count as unreadable
            names = ", ".join(n for n, _ in beyond[:5]) + (" …" if len(beyond) > 5 else "")
            more = f"{len(beyond)} more role{'s' if len(beyond) > 1 else ''}"
            found.add(f"{more} ({names}): the account has {len(granted)} roles and hdm reads the grants of the "
                      f"first {MAX_ROLES} only, so these count as able to write")
        return found


class _RefusePasswordInClear:
    """An authentication handler (pymysql's public ``auth_plugin_map``) for the plugins that would send the
    password as plain text: it stops the handshake before the password is written."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def authenticate(self, packet: Any) -> Any:
        raise OsTicketAuthError(
            "the database server asked for an authentication plugin that sends the password as plain text "
            "(mysql_clear_password or PAM's dialog); hdm refuses it, with or without TLS: give the account "
            "mysql_native_password, caching_sha2_password or ed25519 authentication")

    def prompt(self, echo: bool, prompt: bytes) -> bytes:  # the dialog plugin's question: never answered
        return self.authenticate(None)


REFUSED_AUTH_PLUGINS: dict[str, type] = {"mysql_clear_password": _RefusePasswordInClear,
                                         "dialog": _RefusePasswordInClear}


def _tls_arguments(params: ConnParams) -> dict[str, Any]:
    """pymysql's TLS arguments for ``params``; refuses a remote host without TLS unless the opt-out is named."""
    if params.tls is not None:
        try:
            return {"ssl": params.tls.context()}
        except TlsSetupError as exc:  # names the option at fault; never a secret's content
            raise OsTicketTlsError(f"cannot set up TLS to {params.describe()}: source.ssl.{exc}") from None
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
            raise OsTicketTlsError(f"cannot set up TLS to {params.describe()}: a CA bundle, client certificate "
                                   f"or key file could not be read or used ({reason})") from None
    if params.local:
        return {}
    if params.insecure_plaintext:
        log.warning("INSECURE: connecting to %s without required TLS (insecure_plaintext_connection is set): "
                    "ticket data and the password may cross the network in clear", params.describe())
        return {}
    raise OsTicketTlsError(f"refusing to connect to {params.describe()} without TLS: the host is not loopback; "
                           "configure source.ssl (ca_bundle: the server's CA file) or, knowingly, set "
                           "source.insecure_plaintext_connection: true")


def _tls_failure(exc: Exception, params: ConnParams) -> Optional[OsTicketError]:
    """A clear error when a connection failed in TLS (certificate, name, no TLS on the server), else None."""
    original = getattr(exc, "original_exception", None)
    where = params.describe()
    if isinstance(original, ssl.SSLCertVerificationError):
        detail = original.verify_message or "certificate verify failed"
        return OsTicketTlsError(f"TLS to {where} failed: the server's certificate was not accepted ({detail}); "
                                "check source.ssl.ca_bundle / ca_pem and that the certificate names the host")
    if isinstance(original, ssl.SSLError):
        return OsTicketTlsError(f"TLS to {where} failed ({original.reason or 'handshake error'})")
    message = str(exc.args[1]) if len(exc.args) > 1 else ""
    if params.tls is not None and "SSL" in message.upper() and "support" in message.lower():
        return OsTicketTlsError(f"TLS to {where} is required but the server does not offer it")
    return None


def _connect_error(exc: Exception, params: ConnParams) -> OsTicketError:
    code = exc.args[0] if exc.args else None
    where = params.describe()
    tls_failure = _tls_failure(exc, params)
    if tls_failure is not None:
        return tls_failure
    if code in (1045, 1698):
        return OsTicketAuthError(f"access denied for {where}: wrong user name or password")
    if code == 1049:
        return NotOsTicketError(f"database {params.database!r} does not exist on the server ({where})")
    if code in (1044,):
        return OsTicketAuthError(f"the account has no access to database {params.database!r}, or it does not "
                                 f"exist ({where})")
    if code in (2002, 2003, 2005, 2006, 2013):
        return OsTicketConnectionError(f"cannot reach the database server at {where}: is the host/port right "
                                       "and the server running?")
    return OsTicketConnectionError(f"cannot connect to {where} (MySQL error {code})")


def _query_error(exc: Exception) -> OsTicketError:
    code = exc.args[0] if exc.args else None
    if code == 1146:
        return NotOsTicketError("a table osTicket should have is missing: " + str(exc.args[1] if len(exc.args) > 1
                                                                                  else exc))
    if code == 1054:
        return NotOsTicketError("a column osTicket should have is missing: " + str(exc.args[1] if len(exc.args) > 1
                                                                                   else exc))
    if code in (1142, 1143):
        return OsTicketAuthError("the account lacks SELECT on a table the extractor needs")
    return OsTicketError(f"query failed (MySQL error {code})")
