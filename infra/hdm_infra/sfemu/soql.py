"""A SOQL subset compiled to SQLite SQL.

Supported: field lists with one-hop relationship fields (Account.Name, Owner.Email), COUNT() and
COUNT(field); WHERE with = != <> < > <= >= IN / NOT IN, LIKE, AND, OR, NOT, parentheses, NULL,
TRUE/FALSE, date and datetime literals and the date literals TODAY, YESTERDAY, TOMORROW,
LAST_N_DAYS:n, NEXT_N_DAYS:n; ORDER BY (ASC/DESC, NULLS FIRST/LAST); LIMIT; OFFSET.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from .schema import STRING_TYPES, FieldMeta, ObjectMeta, Schema
from .values import parse_date, parse_datetime


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|\\.)*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op>!=|<>|<=|>=|=|<|>|\(|\)|,)
    | (?P<word>[A-Za-z_][A-Za-z0-9_.:]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS",
             "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "COUNT", "INCLUDES", "EXCLUDES"}


@dataclass
class Tok:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


def tokenize(text: str) -> list[Tok]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at: {text[pos:pos + 20]}")
        kind = m.lastgroup or ""
        out.append(Tok(kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


@dataclass
class Column:
    """One selected item: a field path, or an aggregate."""

    label: str
    path: list[str]
    meta: FieldMeta | None = None
    sql: str = ""
    aggregate: str | None = None
    relationship: str | None = None  # relationship name for a one-hop field
    target: ObjectMeta | None = None
    fk_sql: str = ""  # the local reference column behind a relationship field
    position: int = 0
    fk_position: int = -1


@dataclass
class Query:
    obj: ObjectMeta
    columns: list[Column]
    count_only: bool
    sql: str
    count_sql: str
    params: list[Any] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    aggregate: bool = False


class _Compiler:
    def __init__(self, schema: Schema, text: str, include_deleted: bool) -> None:
        self.schema = schema
        self.toks = tokenize(text)
        self.i = 0
        self.include_deleted = include_deleted
        self.joins: dict[str, str] = {}
        self.params: list[Any] = []

    # token helpers
    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.i += 1
        return tok

    def accept(self, *words: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.upper in words and tok.kind in ("word", "op"):
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            tok = self.peek()
            raise SoqlError("MALFORMED_QUERY", f"expecting '{word}', found '{tok.text if tok else 'end'}'")

    # grammar
    def compile(self) -> Query:
        self.expect("SELECT")
        raw_items: list[tuple[str, str | None]] = []
        while True:
            tok = self.take()
            if tok.upper == "COUNT" and self.accept("("):
                inner = None
                if not self.accept(")"):
                    inner = self.take().text
                    self.expect(")")
                raw_items.append(("COUNT", inner))
            elif tok.kind == "word":
                raw_items.append((tok.text, None))
            else:
                raise SoqlError("MALFORMED_QUERY", f"unexpected '{tok.text}' in field list")
            if not self.accept(","):
                break
        self.expect("FROM")
        obj_tok = self.take()
        obj = self.schema.get(obj_tok.text)
        if obj is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{obj_tok.text}' is not supported.")
        self.obj = obj
        columns = []
        count_only = False
        aggregate = False
        for n, (name, inner) in enumerate(raw_items):
            if name == "COUNT" and inner is None:
                count_only = True
                continue
            if name == "COUNT":
                col = self.column(inner or "Id")
                columns.append(Column(label=f"expr{n}", path=[], aggregate=f"COUNT({col.sql})"))
                aggregate = True
                continue
            columns.append(self.column(name))
        where = ""
        if self.accept("WHERE"):
            where = self.or_expr()
        order = ""
        if self.accept("ORDER"):
            self.expect("BY")
            parts = []
            while True:
                col = self.column(self.take().text)
                direction = "DESC" if self.accept("DESC") else ("ASC" if self.accept("ASC") or True else "")
                nulls = "NULLS FIRST" if direction == "ASC" else "NULLS LAST"
                if self.accept("NULLS"):
                    nulls = "NULLS FIRST" if self.accept("FIRST") else ("NULLS LAST" if self.accept("LAST") else "")
                parts.append(f"{col.sql} {direction} {nulls}")
                if not self.accept(","):
                    break
            order = " ORDER BY " + ", ".join(parts) + ", t0.rowid"
        limit = None
        offset = 0
        while self.peek() is not None:
            if self.accept("LIMIT"):
                limit = int(self.take().text)
            elif self.accept("OFFSET"):
                offset = int(self.take().text)
            else:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.take().text}'")
        conditions = [] if self.include_deleted else ["t0.IsDeleted = 0"]
        if where:
            conditions.append(f"({where})")
        where_sql = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        joins = "".join(self.joins.values())
        source = f' FROM "{obj.name}" t0{joins}{where_sql}'
        parts_sql: list[str] = []
        for c in columns:
            c.position = len(parts_sql)
            parts_sql.append(c.aggregate or c.sql)
            if c.fk_sql:
                c.fk_position = len(parts_sql)
                parts_sql.append(c.fk_sql)
        select = ", ".join(parts_sql) or "t0.Id"
        sql = f"SELECT {select}{source}{order or (' ORDER BY t0.rowid' if not aggregate else '')}"
        return Query(obj=obj, columns=columns, count_only=count_only, sql=sql,
                     count_sql=f"SELECT COUNT(*){source}", params=self.params, limit=limit, offset=offset,
                     aggregate=aggregate)

    def column(self, name: str) -> Column:
        parts = name.split(".")
        if len(parts) > 1 and parts[0].lower() == self.obj.name.lower():
            parts = parts[1:]
        if len(parts) == 1:
            f = self.obj.field(parts[0])
            if f is None or not f.stored:
                raise SoqlError("INVALID_FIELD", f"No such column '{parts[0]}' on entity '{self.obj.name}'. If you are "
                                "attempting to use a custom field, be sure to append the '__c' after the custom "
                                "field name.")
            return Column(label=f.name, path=[f.name], meta=f, sql=f't0."{f.name}"')
        if len(parts) != 2:
            raise SoqlError("INVALID_FIELD", f"Only one relationship hop is supported: '{name}'")
        rel = self.obj.by_relationship.get(parts[0].lower())
        if rel is None:
            raise SoqlError("INVALID_FIELD", f"Didn't understand relationship '{parts[0]}' in field path. If you are "
                            "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                            "relationship name.")
        sqls = []
        target_meta = None
        fmeta = None
        for target in rel.reference_to:
            tmeta = self.schema.objects.get(target)
            tf = tmeta.field(parts[1]) if tmeta else None
            if tmeta is None or tf is None or not tf.stored:
                continue
            alias = f"j_{rel.name}_{target}"
            if alias not in self.joins:
                self.joins[alias] = f' LEFT JOIN "{target}" {alias} ON {alias}.Id = t0."{rel.name}"'
            sqls.append(f'{alias}."{tf.name}"')
            target_meta = target_meta or tmeta
            fmeta = fmeta or tf
        if not sqls or fmeta is None:
            raise SoqlError("INVALID_FIELD", f"No such column '{parts[1]}' on entity '{rel.reference_to[0]}'")
        sql = sqls[0] if len(sqls) == 1 else "COALESCE(" + ", ".join(sqls) + ")"
        return Column(label=f"{rel.relationship_name}.{fmeta.name}", path=[rel.relationship_name or "", fmeta.name],
                      meta=fmeta, sql=sql, relationship=rel.relationship_name, target=target_meta,
                      fk_sql=f't0."{rel.name}"')

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.accept("OR"):
            parts.append(self.and_expr())
        return " OR ".join(parts) if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.not_expr()]
        while self.accept("AND"):
            parts.append(self.not_expr())
        return " AND ".join(parts) if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_expr(self) -> str:
        if self.accept("NOT"):
            return f"NOT ({self.not_expr()})"
        if self.accept("("):
            inner = self.or_expr()
            self.expect(")")
            return f"({inner})"
        return self.comparison()

    def comparison(self) -> str:
        col = self.column(self.take().text)
        negate = self.accept("NOT")
        if self.accept("IN"):
            self.expect("(")
            values = []
            while True:
                values.append(self.literal(col, self.take()))
                if not self.accept(","):
                    break
            self.expect(")")
            non_null = [v for v in values if v is not None]
            marks = ",".join("?" * len(non_null))
            self.params.extend(non_null)
            collate = " COLLATE NOCASE" if self.is_text(col) else ""
            clause = f"{col.sql}{collate} IN ({marks})" if non_null else "0"
            if None in values:
                clause = f"({clause} OR {col.sql} IS NULL)"
            return f"NOT ({clause})" if negate else clause
        if self.accept("LIKE"):
            value = self.literal(col, self.take())
            self.params.append(value)
            clause = f"{col.sql} LIKE ? ESCAPE '\\'"
            return f"NOT ({clause})" if negate else clause
        if negate:
            raise SoqlError("MALFORMED_QUERY", "NOT must be followed by IN or LIKE here")
        op_tok = self.take()
        if op_tok.kind != "op" or op_tok.text in ("(", ")", ","):
            raise SoqlError("MALFORMED_QUERY", f"unexpected operator '{op_tok.text}'")
        op = "!=" if op_tok.text == "<>" else op_tok.text
        value_tok = self.take()
        date_range = self.date_range(col, value_tok)
        if date_range is not None:
            start, end = date_range
            self.params.extend([start, end] if op in ("=", "!=") else [])
            if op == "=":
                return f"({col.sql} >= ? AND {col.sql} < ?)"
            if op == "!=":
                return f"NOT ({col.sql} >= ? AND {col.sql} < ?)"
            bound = {"<": start, ">=": start, ">": end, "<=": end}[op]
            sql_op = {"<": "<", ">=": ">=", ">": ">=", "<=": "<"}[op]
            self.params.append(bound)
            return f"{col.sql} {sql_op} ?"
        value = self.literal(col, value_tok)
        if value is None:
            if op == "=":
                return f"{col.sql} IS NULL"
            if op == "!=":
                return f"{col.sql} IS NOT NULL"
            raise SoqlError("MALFORMED_QUERY", "null can only be compared with = or !=")
        self.params.append(value)
        collate = " COLLATE NOCASE" if self.is_text(col) else ""
        if op == "!=":
            return f"({col.sql}{collate} != ? OR {col.sql} IS NULL)"
        return f"{col.sql}{collate} {op} ?"

    @staticmethod
    def is_text(col: Column) -> bool:
        return col.meta is not None and col.meta.type in STRING_TYPES

    def date_range(self, col: Column, tok: Tok) -> tuple[str, str] | None:
        if tok.kind != "word" or col.meta is None or col.meta.type not in ("date", "datetime"):
            return None
        name, _, n = tok.upper.partition(":")
        today = dt.datetime.now(dt.UTC).date()
        if name == "TODAY":
            start, end = today, today + dt.timedelta(days=1)
        elif name == "YESTERDAY":
            start, end = today - dt.timedelta(days=1), today
        elif name == "TOMORROW":
            start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=2)
        elif name == "LAST_N_DAYS" and n.isdigit():
            start, end = today - dt.timedelta(days=int(n)), today + dt.timedelta(days=1)
        elif name == "NEXT_N_DAYS" and n.isdigit():
            start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=int(n) + 1)
        else:
            return None
        if col.meta.type == "date":
            return start.isoformat(), end.isoformat()
        return f"{start.isoformat()}T00:00:00.000+0000", f"{end.isoformat()}T00:00:00.000+0000"

    def literal(self, col: Column, tok: Tok) -> Any:
        t = col.meta.type if col.meta else "string"
        if tok.kind == "word":
            word = tok.upper
            if word == "NULL":
                return None
            if word in ("TRUE", "FALSE") and t == "boolean":
                return 1 if word == "TRUE" else 0
            raise SoqlError("MALFORMED_QUERY", f"unexpected value '{tok.text}' for {col.label}")
        if tok.kind == "str":
            if t in ("boolean", "int", "double", "currency", "percent", "date", "datetime"):
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR",
                                f"value of filter criterion for field '{col.label}' must be of type {t} and should "
                                "not be enclosed in quotes")
            return re.sub(r"\\(.)", r"\1", tok.text[1:-1]) if "\\" in tok.text else tok.text[1:-1]
        if tok.kind == "num":
            if t in ("int",):
                return int(float(tok.text))
            if t in ("double", "currency", "percent"):
                return float(tok.text)
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"value of filter criterion for field '{col.label}' must "
                            f"be of type {t} and should be enclosed in quotes")
        if tok.kind == "date":
            if t == "datetime":
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"value of filter criterion for field '{col.label}' "
                                "must be of type dateTime and should not be enclosed in quotes")
            return parse_date(tok.text)
        if tok.kind == "dt":
            if t == "date":
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR",
                                f"value of filter criterion for field '{col.label}' must be of type date")
            return parse_datetime(tok.text)
        raise SoqlError("MALFORMED_QUERY", f"unexpected value '{tok.text}'")


def compile_query(schema: Schema, text: str, include_deleted: bool = False) -> Query:
    try:
        return _Compiler(schema, text, include_deleted).compile()
    except (IndexError, ValueError) as exc:
        raise SoqlError("MALFORMED_QUERY", f"malformed query: {exc}") from None
