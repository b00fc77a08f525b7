"""``POST /v1/customers/search``: the query body evaluated over the org's records.

Body (search-recipes page; both Singer taps send exactly this shape)::

    {"queryContext": "conversation",
     "and": [{"conversation_updated_at": {"gte": "2024-01-01T00:00:00Z"}}],
     "or": [...],
     "sort": [{"conversation_updated_at": "asc"}],
     "timeZone": "UTC"}

A criterion is ``{"<ctx>_<attribute>": {"<operator>": value, ...}}`` or a nested ``{"and": [...]}`` /
``{"or": [...]}`` group. Attributes: ``<ctx>_id``, snake_case names of the record's attributes
(``conversation_updated_at`` -> ``attributes.updatedAt``), relationships (``conversation_customer`` or
``conversation_customer_id``) and custom attributes (``<ctx>_custom_<attrName>``, e.g.
``conversation_custom_orderStr``).
List attributes match when any element matches; list elements that are objects (``emails``) match on their main
value (``email``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .store import parse_time

CONTEXT_TYPES = {"customer": "customer", "conversation": "conversation", "message": "message", "note": "note",
                 "company": "company", "kobject": "kobject"}
OPERATORS = ("equals", "not_equals", "contains", "not_contains", "starts_with", "in", "not_in",
             "gt", "gte", "lt", "lte", "is_set", "not_set")
MAX_DEPTH = 8
_DATE = re.compile(r"^\d{4}-\d\d-\d\d")


class SearchError(ValueError):
    """The query body is not a search this API answers (400)."""


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _main_value(item: Any, plural: str) -> Any:
    """The value an object inside a list attribute is matched on (``{"email": "a@b"}`` in ``emails`` -> ``a@b``)."""
    if not isinstance(item, dict):
        return item
    singular = plural[:-1] if plural.endswith("s") else plural
    for key in (singular, "id", "name", "value"):
        if key in item:
            return item[key]
    return next((v for v in item.values() if isinstance(v, str)), None)


def resolve_context(ctx: Any, klass_names: set[str]) -> tuple[str, str | None]:
    """(record type, klass name or None) of a ``queryContext``; SearchError when it is not one."""
    if not isinstance(ctx, str) or not ctx:
        raise SearchError("queryContext is required (customer, conversation, message, note, company, kobject or "
                          "kobject_<klass>)")
    if ctx in CONTEXT_TYPES:
        return CONTEXT_TYPES[ctx], None
    if ctx.startswith("kobject_"):
        klass = ctx.removeprefix("kobject_")
        if klass not in klass_names:
            raise SearchError(f"queryContext {ctx!r}: no klass named {klass!r}")
        return "kobject", klass
    raise SearchError(f"queryContext {ctx!r} is not a search context")


class Query:
    """A compiled search body for one context."""

    def __init__(self, body: Any, klass_names: set[str], known_fields: Callable[[str], set[str]]) -> None:
        if not isinstance(body, dict):
            raise SearchError("the search body is a JSON object with queryContext, and/or and sort")
        self.context = body.get("queryContext")
        self.type, self.klass = resolve_context(self.context, klass_names)
        self.prefix = f"{self.context}_"
        self._known = known_fields(self.type)
        unknown = set(body) - {"queryContext", "and", "or", "sort", "timeZone", "fields"}
        if unknown:
            raise SearchError(f"unknown search keys: {sorted(unknown)}")
        self.tests: list[Callable[[dict[str, Any]], bool]] = []
        for key in ("and", "or"):
            if key in body and body[key] is not None:
                if not isinstance(body[key], list):
                    raise SearchError(f"{key!r} is a list of criteria")
                if body[key]:
                    self.tests.append(self._group(key, body[key], 0))
        self.sort = self._compile_sort(body.get("sort"))

    # ----- fields -------------------------------------------------------------------------------------------
    def _getter(self, field: Any) -> Callable[[dict[str, Any]], Any]:
        if not isinstance(field, str) or not field.startswith(self.prefix) or len(field) == len(self.prefix):
            raise SearchError(f"search attribute {field!r} does not belong to queryContext {self.context!r} "
                              f"(expected {self.prefix}<attribute>)")
        rest = field.removeprefix(self.prefix)
        if rest == "id":
            return lambda doc: doc["id"]
        if rest.startswith("custom_"):
            name = rest.removeprefix("custom_")
            return lambda doc: (doc["attributes"].get("custom") or {}).get(name)
        camel = _camel(rest)
        if camel in self._known:
            return lambda doc: doc["attributes"].get(camel)
        for rel in (camel, _camel(rest.removesuffix("_id"))):
            if f"rel:{rel}" in self._known:
                return lambda doc, rel=rel: _rel_ids(doc, rel)
        raise SearchError(f"unknown search attribute {field!r} for queryContext {self.context!r}")

    # ----- criteria -----------------------------------------------------------------------------------------
    def _group(self, kind: str, items: list[Any], depth: int) -> Callable[[dict[str, Any]], bool]:
        if depth > MAX_DEPTH:
            raise SearchError("search criteria nested too deeply")
        tests = [self._criterion(item, depth + 1) for item in items]
        if kind == "and":
            return lambda doc: all(t(doc) for t in tests)
        return lambda doc: any(t(doc) for t in tests)

    def _criterion(self, item: Any, depth: int) -> Callable[[dict[str, Any]], bool]:
        if not isinstance(item, dict) or not item:
            raise SearchError(f"a search criterion is {{\"<attribute>\": {{\"<operator>\": value}}}}, got {item!r}")
        tests = []
        for key, spec in item.items():
            if key in ("and", "or"):
                if not isinstance(spec, list):
                    raise SearchError(f"{key!r} is a list of criteria")
                tests.append(self._group(key, spec, depth))
                continue
            get = self._getter(key)
            if not isinstance(spec, dict) or not spec:
                raise SearchError(f"criterion for {key!r} is an object of operators, got {spec!r}")
            for op, operand in spec.items():
                tests.append(_operator(key, op, operand, get))
        return lambda doc: all(t(doc) for t in tests)

    def matches(self, doc: dict[str, Any]) -> bool:
        if self.klass is not None and doc["relationships"]["klass"]["data"]["id"] != self.klass:
            return False
        return all(t(doc) for t in self.tests)

    # ----- order --------------------------------------------------------------------------------------------
    def _compile_sort(self, sort: Any) -> list[tuple[Callable[[dict[str, Any]], Any], bool]]:
        if sort is None:
            return []
        if isinstance(sort, dict):
            sort = [{k: v} for k, v in sort.items()]
        if not isinstance(sort, list):
            raise SearchError("sort is a list of {\"<attribute>\": \"asc\"|\"desc\"}")
        keys = []
        for item in sort:
            if not isinstance(item, dict) or len(item) != 1:
                raise SearchError(f"a sort entry is {{\"<attribute>\": \"asc\"|\"desc\"}}, got {item!r}")
            (field, direction), = item.items()
            if not isinstance(direction, str) or direction.lower() not in ("asc", "desc"):
                raise SearchError(f"sort direction for {field!r} is asc or desc, got {direction!r}")
            keys.append((self._getter(field), direction.lower() == "desc"))
        return keys

    def order(self, docs: list[dict[str, Any]], tie_by_id: bool = True) -> list[dict[str, Any]]:
        """Sorted by the query's keys; records equal on all keys stay in id order (``tie_by_id``) or as given."""
        out = sorted(docs, key=lambda d: d["id"]) if tie_by_id else list(docs)
        for get, desc in reversed(self.sort):
            out.sort(key=lambda d, get=get: _sort_key(get(d)), reverse=desc)
        return out


def _rel_ids(doc: dict[str, Any], rel: str) -> Any:
    data = (doc.get("relationships", {}).get(rel) or {}).get("data")
    if isinstance(data, list):
        return [item.get("id") for item in data if isinstance(item, dict)]
    return data.get("id") if isinstance(data, dict) else None


def _values(value: Any, field: str) -> list[Any]:
    if isinstance(value, list):
        last = field.rsplit("_", 1)[-1]
        return [_main_value(v, last) for v in value]
    return [] if value is None else [value]


def _coerce(value: Any) -> Any:
    """Comparable form: datetimes for timestamps, floats for numbers, lower-case text otherwise."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _coerce_text(value)
    return value


@functools.lru_cache(maxsize=1 << 17)
def _coerce_text(value: str) -> Any:
    """A timestamp string as a datetime (cached: the same stored values are compared on every search)."""
    moment = parse_time(value) if _DATE.match(value) else None
    return moment if moment is not None else value


def _compare(a: Any, b: Any) -> int | None:
    a, b = _coerce(a), _coerce(b)
    if isinstance(a, datetime) != isinstance(b, datetime):
        return None
    if isinstance(a, float) and isinstance(b, str):
        try:
            b = float(b)
        except ValueError:
            return None
    if type(a) is not type(b) and not (isinstance(a, float) and isinstance(b, float)):
        return None
    return (a > b) - (a < b)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and not _DATE.match(a):
        return a.lower() == b.lower()
    return _compare(a, b) == 0 if not isinstance(a, bool) else a == b


def _operator(field: str, op: str, operand: Any, get: Callable[[dict[str, Any]], Any]) -> Callable[[dict], bool]:
    if op not in OPERATORS:
        raise SearchError(f"unknown operator {op!r} for {field!r} (one of {', '.join(OPERATORS)})")
    if op in ("in", "not_in") and not isinstance(operand, list):
        raise SearchError(f"operator {op!r} for {field!r} takes a list")
    if op in ("gt", "gte", "lt", "lte") and (operand is None or isinstance(operand, list | dict)):
        raise SearchError(f"operator {op!r} for {field!r} takes a value")

    def test(doc: dict[str, Any]) -> bool:
        values = _values(get(doc), field)
        if op == "is_set":
            return bool(values) == bool(operand if operand is not None else True)
        if op == "not_set":
            return (not values) == bool(operand if operand is not None else True)
        if op == "equals":
            return any(_equal(v, operand) for v in values) if operand is not None else not values
        if op == "not_equals":
            return not any(_equal(v, operand) for v in values)
        if op == "in":
            return any(_equal(v, o) for v in values for o in operand)
        if op == "not_in":
            return not any(_equal(v, o) for v in values for o in operand)
        if op in ("contains", "not_contains", "starts_with"):
            text = str(operand).lower()
            hit = any(isinstance(v, str) and (v.lower().startswith(text) if op == "starts_with" else text in v.lower())
                      for v in values)
            return not hit if op == "not_contains" else hit
        for v in values:
            c = _compare(v, operand)
            if c is not None and ((op == "gt" and c > 0) or (op == "gte" and c >= 0)
                                  or (op == "lt" and c < 0) or (op == "lte" and c <= 0)):
                return True
        return False

    return test


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    value = _coerce(value)
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, float):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value.timestamp())
    return (4, str(value).lower() if isinstance(value, str) else str(value))
