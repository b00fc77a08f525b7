"""Kayako's partial-output rules applied to stored resources: ``include=``, ``fields=``, flat mode, ``_empty``.

- Nested resources are references ``{id, resource_type}`` unless their type is named in ``include=`` (``*`` names
  every type); an included resource is expanded in place, and its own nested resources follow the same rule
  (developer.kayako.com/api/v1/reference/partial_output).
- Flat mode (``_flat=true`` or ``X-Options: flat``): references stay in place and the included resources are
  delivered once each under the top-level ``resources`` map, ``{resource_type: {id: resource}}``
  (developer.kayako.com/api/v1/reference/special_options; the map's exact layout is an assumption, see README).
- ``fields=``: a comma list; ``+name`` adds a field not returned by default (``tags`` on cases), ``-name`` drops
  one, bare names keep only those (``id``, ``resource_type`` and ``resource_url`` are always returned). Applied to
  the top-level items; nested paths are not emulated.
- ``custom_fields[].field`` is always the field definition itself (Zammad's importer reads ``field.key`` and
  ``field.type`` there without including the field type); a definition that was deleted stays a reference.
- ``_empty=false`` / ``X-Options: no_empty`` drops null values and empty arrays.
"""

from __future__ import annotations

from typing import Any

from .store import Store, is_ref

OPTIONAL_FIELDS = {"case": {"tags"}}  # returned only with fields=+name
ALWAYS = {"id", "resource_type", "resource_url"}
MAX_DEPTH = 5


class FieldsSpec:
    def __init__(self, raw: str | None) -> None:
        self.plus: set[str] = set()
        self.minus: set[str] = set()
        self.only: set[str] = set()
        for item in (raw or "").split(","):
            item = item.strip()
            if not item:
                continue
            if item.startswith("+"):
                self.plus.add(item[1:])
            elif item.startswith("-"):
                self.minus.add(item[1:])
            else:
                self.only.add(item)

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        hidden = OPTIONAL_FIELDS.get(body.get("resource_type", ""), set()) - self.plus - self.only
        out = {}
        for key, value in body.items():
            if key in ALWAYS:
                out[key] = value
            elif key in hidden or key in self.minus:
                continue
            elif self.only and key not in self.only and key not in self.plus:
                continue
            else:
                out[key] = value
        return out


class Renderer:
    def __init__(self, store: Store, include: str | None, flat: bool, no_empty: bool) -> None:
        self.store = store
        names = {t.strip() for t in (include or "").split(",") if t.strip()}
        self.all = "*" in names
        self.include = names
        self.flat = flat
        self.no_empty = no_empty
        self.resources: dict[str, dict[str, Any]] = {}
        self._cache: dict[tuple[str, int], dict[str, Any] | None] = {}

    def included(self, rtype: str) -> bool:
        return self.all or rtype in self.include

    def lookup(self, rtype: str, rid: int) -> dict[str, Any] | None:
        key = (rtype, rid)
        if key not in self._cache:
            self._cache[key] = self.store.get(rtype, rid)
        return self._cache[key]

    def item(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._clean(self._walk(body, 0))

    def _expand(self, value: dict[str, Any], depth: int, force: bool = False) -> Any:
        rtype, rid = value["resource_type"], value["id"]
        if depth >= MAX_DEPTH or not (force or self.included(rtype)):
            return value
        found = self.lookup(rtype, rid)
        if found is None:  # a dangling reference (deleted definition, merged user ...) stays a reference
            return value
        if self.flat and not force:
            bucket = self.resources.setdefault(rtype, {})
            if str(rid) not in bucket:
                bucket[str(rid)] = None  # reserve first: cycles end here
                bucket[str(rid)] = self._clean(self._walk(found, depth + 1))
            return value
        return self._walk(found, depth + 1)

    def _walk(self, value: Any, depth: int) -> Any:
        if is_ref(value):
            return self._expand(value, depth)
        if isinstance(value, list):
            return [self._walk(v, depth) for v in value]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key == "custom_fields" and isinstance(item, list):
                    out[key] = [self._custom_value(entry, depth) for entry in item]
                else:
                    out[key] = self._walk(item, depth)
            return out
        return value

    def _custom_value(self, entry: Any, depth: int) -> Any:
        if isinstance(entry, dict) and is_ref(entry.get("field")):
            return {**entry, "field": self._expand(entry["field"], depth, force=True)}
        return self._walk(entry, depth)

    def _clean(self, value: Any) -> Any:
        if not self.no_empty:
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items() if v is not None and v != []}
        if isinstance(value, list):
            return [self._clean(v) for v in value]
        return value
