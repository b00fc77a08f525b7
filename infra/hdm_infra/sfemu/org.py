"""The emulated org: SQLite tables per object, and the record operations every API surface shares.

REST single-record calls, sObject Collections and Bulk API 2.0 all go through `Org.insert`,
`Org.update`, `Org.upsert` and `Org.delete`, which validate a whole batch at once (set-based lookups,
executemany writes) and return one `RowResult` per input row, in input order.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdm_infra.emulators.kit.state import touch_private

from . import knowledge
from .ids import make_id, normalize_id
from .knobs import FaultDice, Knobs, rejected_by_rule
from .schema import AUDIT_FIELDS, COMPOSITE_UNIQUE, SEED_ONLY_OBJECTS, FieldMeta, ObjectMeta, Schema
from .values import ValueError_, now_iso, to_output, to_stored

CLOSED_CASE_STATUSES = frozenset({"Closed"})
RUNNING_USER = {"Username": "migration.user@hdm.example", "LastName": "Migration", "FirstName": "Hdm",
                "Email": "migration.user@hdm.example", "Alias": "hdmmig"}
_CHUNK = 500
_FILE_TYPES = {"pdf": "PDF", "png": "PNG", "jpg": "JPG", "jpeg": "JPEG", "gif": "GIF", "txt": "TEXT",
               "csv": "CSV", "html": "HTML", "htm": "HTML", "doc": "WORD", "docx": "WORD_X", "xls": "EXCEL",
               "xlsx": "EXCEL_X", "zip": "ZIP", "eml": "EML", "xml": "XML", "json": "JSON"}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def error(code: str, message: str, fields: Iterable[str] = ()) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": list(fields)}


@dataclass
class RowResult:
    id: str | None = None
    success: bool = True
    created: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, code: str, message: str, fields: Iterable[str] = ()) -> None:
        if self.success:
            self.success = False
            self.errors.append(error(code, message, fields))


@dataclass
class WriteOptions:
    family: str = "sobject"
    from_csv: bool = False
    auto_assign: bool = True
    all_or_none: bool = False
    admin: bool = False


@dataclass
class _Pending:
    """A row on its way through validation."""

    index: int
    values: dict[str, Any]
    relationships: list[tuple[FieldMeta, str, str, Any]] = field(default_factory=list)
    record_id: str | None = None
    content: dict[str, Any] = field(default_factory=dict)  # what the caller sent, for validation-rule hashing


def _lookup_key(fmeta: FieldMeta, value: Any) -> Any:
    """A parent-lookup value in the form its field stores (a value the field cannot hold matches nothing)."""
    if fmeta.type == "id":
        return normalize_id(str(value)) or str(value)
    try:
        return to_stored(fmeta, value, from_csv=True)
    except ValueError_:
        return str(value)


class Org:
    """One org's data, metadata and settings, persisted in `<state_dir>/org.sqlite3`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.lock = threading.RLock()
        # mode 0600 before SQLite opens it (its -wal/-shm files take the database file's mode)
        touch_private(self.state_dir / "org.sqlite3")
        self.db = sqlite3.connect(self.state_dir / "org.sqlite3", check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA temp_store=MEMORY")
        self.db.execute("PRAGMA cache_size=-65536")
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS _meta_kv (key TEXT PRIMARY KEY, value TEXT);"
            "CREATE TABLE IF NOT EXISTS _meta_seq (prefix TEXT PRIMARY KEY, n INTEGER);"
            "CREATE TABLE IF NOT EXISTS _meta_custom (seq INTEGER PRIMARY KEY, kind TEXT, object TEXT, body TEXT);"
        )
        self._load()

    # ----- lifecycle -------------------------------------------------------------------------------------
    def _load(self) -> None:
        self.schema = Schema()
        self.knobs = Knobs.from_json(json.loads(self._kv("knobs") or "{}"))
        self.schema.audit_fields_createable = self.knobs.audit_fields
        self.dice = FaultDice(self.knobs.faults)
        self.seq = dict(self.db.execute("SELECT prefix, n FROM _meta_seq").fetchall())
        for kind, obj, body in self.db.execute("SELECT kind, object, body FROM _meta_custom ORDER BY seq"):
            data = json.loads(body)
            if kind == "object":
                self.schema.add_custom_object(obj, data["label"], data["plural"], data["prefix"],
                                              bool(data.get("auto_number")))
            else:
                self.schema.add_custom_field(obj, data)
        for meta in self.schema.objects.values():
            self._ensure_table(meta)
        if self.running_user_id is None:
            with self.lock:
                self._seed_running_user()

    def _kv(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM _meta_kv WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_kv(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO _meta_kv(key, value) VALUES(?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    @property
    def running_user_id(self) -> str | None:
        return self._kv("running_user_id")

    def _seed_running_user(self) -> None:
        results = self.insert("User", [dict(RUNNING_USER)], WriteOptions(admin=True))
        if not results[0].success:
            raise RuntimeError(f"cannot seed the running user: {results[0].errors}")
        self.set_kv("running_user_id", results[0].id or "")

    def set_knobs(self, knobs: Knobs) -> None:
        with self.lock:
            self.knobs = knobs
            self.schema.audit_fields_createable = knobs.audit_fields
            self.dice = FaultDice(knobs.faults)
            self.set_kv("knobs", json.dumps(knobs.to_json()))

    def reset(self) -> None:
        """Drop every record, custom field and object, knob and sequence; keep the running user."""
        with self.lock:
            tables = [r[0] for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            for table in tables:
                if table.startswith("_meta_") or table.startswith("_bulk"):
                    if table in ("_meta_kv", "_meta_seq", "_meta_custom"):
                        self.db.execute(f"DELETE FROM {q(table)}")
                    continue
                self.db.execute(f"DROP TABLE {q(table)}")
            self._load()

    # ----- tables ----------------------------------------------------------------------------------------
    def _ensure_table(self, meta: ObjectMeta) -> None:
        existing = {r[1] for r in self.db.execute(f"PRAGMA table_info({q(meta.name)})")}
        if not existing:
            cols = ", ".join(q(f.name) for f in meta.stored_fields() if f.name != "Id")
            self.db.execute(f"CREATE TABLE {q(meta.name)} (Id TEXT PRIMARY KEY NOT NULL, {cols})")
        else:
            for f in meta.stored_fields():
                if f.name not in existing:
                    self.db.execute(f"ALTER TABLE {q(meta.name)} ADD COLUMN {q(f.name)}")
        for f in meta.stored_fields():
            if f.name != "Id" and (f.type == "reference" or f.external_id or f.unique or f.id_lookup):
                index = f"ix_{meta.name}_{f.name}"
                self.db.execute(f"CREATE INDEX IF NOT EXISTS {q(index)} ON {q(meta.name)}({q(f.name)})")

    def allocate_ids(self, prefix: str, count: int) -> list[str]:
        start = self.seq.get(prefix, 0)
        self.seq[prefix] = start + count
        self.db.execute("INSERT INTO _meta_seq(prefix, n) VALUES(?, ?) ON CONFLICT(prefix) DO UPDATE SET n=excluded.n",
                        (prefix, start + count))
        return [make_id(prefix, start + i + 1) for i in range(count)]

    def _autonumber(self, key: str, count: int) -> list[str]:
        start = self.seq.get(key, 0)
        self.seq[key] = start + count
        self.db.execute("INSERT INTO _meta_seq(prefix, n) VALUES(?, ?) ON CONFLICT(prefix) DO UPDATE SET n=excluded.n",
                        (key, start + count))
        return [f"{start + i + 1:08d}" for i in range(count)]

    # ----- metadata changes (Tooling API) ---------------------------------------------------------------
    def add_custom_object(self, api_name: str, label: str, plural: str, auto_number: bool = False) -> ObjectMeta:
        with self.lock:
            n = sum(1 for m in self.schema.objects.values() if m.describe.get("custom") and m.name.endswith("__c"))
            prefix = f"a{n + 1:02d}"
            meta = self.schema.add_custom_object(api_name, label, plural, prefix, auto_number)
            self._ensure_table(meta)
            self.db.execute("INSERT INTO _meta_custom(kind, object, body) VALUES('object', ?, ?)",
                            (api_name, json.dumps({"label": label, "plural": plural, "prefix": prefix,
                                                   "auto_number": auto_number})))
            return meta

    def add_custom_field(self, obj: str, raw: dict[str, Any]) -> FieldMeta:
        with self.lock:
            fmeta = self.schema.add_custom_field(obj, raw)
            self._ensure_table(self.schema.objects[obj])
            self.db.execute("INSERT INTO _meta_custom(kind, object, body) VALUES('field', ?, ?)",
                            (obj, json.dumps(raw)))
            return fmeta

    # ----- reads -----------------------------------------------------------------------------------------
    def fetch(self, meta: ObjectMeta, record_id: str, include_deleted: bool = False) -> dict[str, Any] | None:
        cols = [f.name for f in meta.stored_fields()]
        sql = f"SELECT {', '.join(q(c) for c in cols)} FROM {q(meta.name)} WHERE Id=?"
        with self.lock:
            row = self.db.execute(sql, (record_id,)).fetchone()
        if row is None:
            return None
        record = dict(zip(cols, row, strict=True))
        if record.get("IsDeleted") and not include_deleted:
            return None
        return record

    def render(self, meta: ObjectMeta, record: dict[str, Any], version: str,
               only: list[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": meta.name,
                                              "url": f"/services/data/v{version}/sobjects/{meta.name}/{record['Id']}"}}
        names = only or [f.name for f in meta.fields.values()]
        for name in names:
            f = meta.field(name)
            if f is None:
                continue
            if not f.stored:
                out[f.name] = None
            elif f.type == "base64":
                out[f.name] = (f"/services/data/v{version}/sobjects/{meta.name}/{record['Id']}/{f.name}"
                               if record.get(f.name) is not None else None)
            else:
                out[f.name] = to_output(f, record.get(f.name))
        return out

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {name: self.db.execute(f"SELECT COUNT(*) FROM {q(name)} WHERE IsDeleted=0").fetchone()[0]
                    for name in self.schema.objects}

    def find_ids_by(self, meta: ObjectMeta, fmeta: FieldMeta, values: list[Any]) -> dict[Any, list[str]]:
        found: dict[Any, list[str]] = defaultdict(list)
        for start in range(0, len(values), _CHUNK):
            chunk = values[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {q(fmeta.name)}, Id FROM {q(meta.name)} WHERE IsDeleted=0 AND {q(fmeta.name)} IN ({marks})"
            for value, rid in self.db.execute(sql, chunk):
                found[value].append(rid)
        return found

    def _existing(self, meta: ObjectMeta, ids: list[str], cols: str = "Id, IsDeleted") -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            sql = f"SELECT {cols} FROM {q(meta.name)} WHERE Id IN ({','.join('?' * len(chunk))})"
            for row in self.db.execute(sql, chunk):
                out[row[0]] = row
        return out

    # ----- shared validation ---------------------------------------------------------------------------
    def _coerce(self, meta: ObjectMeta, row: dict[str, Any], mode: str, opts: WriteOptions,
                result: RowResult, index: int) -> _Pending | None:
        pending = _Pending(index=index, values={})
        for col, (key, raw) in enumerate(row.items()):
            if key == "attributes":
                continue
            if isinstance(raw, dict) or "." in key or ":" in key:
                if not self._relationship(meta, key, raw, pending, result, opts):
                    return None
                continue
            if opts.from_csv:
                if raw == "":
                    continue
                if raw == "#N/A":
                    raw = None
            f = meta.field(key)
            if f is None:
                result.fail("INVALID_FIELD", f"No such column '{key}' on sobject of type {meta.name}", [key])
                return None
            if f.name == "Id":
                if mode == "insert":
                    result.fail("INVALID_FIELD_FOR_INSERT_UPDATE",
                                "cannot specify Id in an insert call", ["Id"])
                    return None
                rid = normalize_id(str(raw)) if raw is not None else None
                if rid is None:
                    result.fail("MALFORMED_ID", f"{meta.label if hasattr(meta, 'label') else meta.name} ID: "
                                f"id value of incorrect type: {raw}", ["Id"])
                    return None
                pending.record_id = rid
                continue
            allowed = f.createable if mode == "insert" else f.updateable
            if mode == "insert" and f.name in AUDIT_FIELDS and self.knobs.audit_fields:
                allowed = True
            if not allowed:
                result.fail("INVALID_FIELD_FOR_INSERT_UPDATE",
                            f"Unable to create/update fields: {f.name}. Please check the security settings of "
                            "this field and verify that it is read/write for your profile or permission set.",
                            [f.name])
                return None
            try:
                value = to_stored(f, raw, from_csv=opts.from_csv, col=col)
            except ValueError_ as exc:
                result.fail(exc.code, exc.message, [exc.field])
                return None
            if value is None and not f.nillable and f.type != "boolean" and mode == "update":
                result.fail("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name])
                return None
            if f.type == "reference" and value is not None:
                rid = normalize_id(value)
                if rid is None:
                    result.fail("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
                    return None
                value = rid
            pending.values[f.name] = value
        pending.content = dict(pending.values)
        for f, target, ext, value in pending.relationships:
            pending.content[f"{f.name}:{target}.{ext}"] = value
        return pending

    def _relationship(self, meta: ObjectMeta, key: str, raw: Any, pending: _Pending, result: RowResult,
                      opts: WriteOptions) -> bool:
        """`Account.Legacy_Id__c` (CSV) or `{"Account": {"Legacy_Id__c": v}}` (JSON) -> a pending lookup."""
        if isinstance(raw, dict):
            rel_name, inner = key, {k: v for k, v in raw.items() if k != "attributes"}
            if len(inner) != 1:
                result.fail("INVALID_FIELD", f"Relationship {key} needs exactly one external id field", [key])
                return False
            ext_name, value = next(iter(inner.items()))
            target_hint = (raw.get("attributes") or {}).get("type")
        else:
            rel_part, _, ext_name = key.partition(".")
            rel_name, _, target_hint = rel_part.partition(":")
            value = raw
            if opts.from_csv and value == "":
                return True
            if opts.from_csv and value == "#N/A":
                value = None
        f = meta.by_relationship.get(rel_name.lower())
        if f is None or "." in ext_name:
            result.fail("INVALID_FIELD", f"No such column '{key}' on sobject of type {meta.name}", [key])
            return False
        targets = [t for t in f.reference_to if t in self.schema.objects]
        target = target_hint or (targets[0] if len(targets) == 1 else "")
        tmeta = self.schema.get(target) if target else None
        if tmeta is None or tmeta.name not in f.reference_to:
            result.fail("INVALID_FIELD", f"Polymorphic or unknown relationship {key}: name the target type", [key])
            return False
        ext = tmeta.field(ext_name)
        if ext is None or not (ext.external_id or ext.id_lookup):
            result.fail("INVALID_FIELD", f"Field name provided, {ext_name} does not match an External ID, "
                        f"Salesforce Id, or indexed field for {tmeta.name}", [key])
            return False
        if value is None:
            pending.values[f.name] = None
            return True
        pending.relationships.append((f, tmeta.name, ext.name, value))
        return True

    def _resolve_relationships(self, pendings: list[_Pending], results: list[RowResult]) -> None:
        groups: dict[tuple[str, str], set[Any]] = defaultdict(set)
        for p in pendings:
            for _, target, ext, value in p.relationships:
                groups[(target, ext)].add(value)
        found = {}
        for (target, ext), values in groups.items():
            tmeta = self.schema.objects[target]
            fmeta = tmeta.fields[ext]
            stored = [_lookup_key(fmeta, v) for v in values]
            mapping = dict(zip(values, stored, strict=True))
            hits = self.find_ids_by(tmeta, fmeta, list(set(stored)))
            found[(target, ext)] = (mapping, hits)
        for p in pendings:
            for f, target, ext, value in p.relationships:
                mapping, hits = found[(target, ext)]
                ids = hits.get(mapping[value], [])
                if len(ids) == 1:
                    p.values[f.name] = ids[0]
                else:
                    what = "No such" if not ids else "Multiple"
                    results[p.index].fail("INVALID_FIELD" if not ids else "DUPLICATE_EXTERNAL_ID",
                                          f"{what} {target} record(s) with {ext} = {value}", [f.name])

    def _check_references(self, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult]) -> None:
        by_target: dict[str, set[str]] = defaultdict(set)
        ref_names = {f.name for f in meta.fields.values() if f.type == "reference"}
        for p in pendings:
            if not results[p.index].success:
                continue
            for name in ref_names.intersection(p.values):
                value = p.values[name]
                f = meta.fields[name]
                if value is None:
                    continue
                tmeta = self.schema.object_for_id(value)
                if tmeta is None or tmeta.name not in f.reference_to:
                    results[p.index].fail("FIELD_INTEGRITY_EXCEPTION",
                                          f"{f.label}: id value of incorrect type: {value}", [f.name])
                    continue
                by_target[tmeta.name].add(value)
        rows: dict[str, tuple] = {}
        for target, ids in by_target.items():
            tmeta = self.schema.objects[target]
            cols = "Id, IsDeleted"
            if target == "User":
                cols += ", IsActive"
            elif target == "Group":
                cols += ", Type"
            rows.update(self._existing(tmeta, sorted(ids), cols))
        queue_objects: dict[str, set[str]] = defaultdict(set)
        queues = [rid for rid, row in rows.items() if rid.startswith("00G") and row[2] == "Queue"]
        if queues:
            for qid, sobj in self.db.execute(
                    f"SELECT QueueId, SobjectType FROM QueueSobject WHERE IsDeleted=0 AND QueueId IN "
                    f"({','.join('?' * len(queues))})", queues):
                queue_objects[qid].add(sobj)
        for p in pendings:
            result = results[p.index]
            if not result.success:
                continue
            for name in ref_names.intersection(p.values):
                value = p.values[name]
                f = meta.fields[name]
                if value is None:
                    continue
                row = rows.get(value)
                if row is None or row[1]:
                    code = "ENTITY_IS_DELETED" if row is not None else "INVALID_CROSS_REFERENCE_KEY"
                    result.fail(code, f"invalid cross reference id: {f.label}", [f.name])
                    break
                if name == "OwnerId" and value.startswith("005") and not row[2] and not self.knobs.audit_fields:
                    result.fail("INACTIVE_OWNER_OR_USER", "operation performed with inactive user as owner",
                                [f.name])
                    break
                if name == "OwnerId" and value.startswith("00G") and (
                        row[2] != "Queue" or meta.name not in queue_objects.get(value, ())):
                    result.fail("INVALID_CROSS_REFERENCE_KEY",
                                f"invalid cross reference id: the queue does not support {meta.name}", [f.name])
                    break

    def _check_composite_unique(self, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult]) -> None:
        """Objects whose records may not repeat a combination of fields (CaseContactRole: case, contact, role)."""
        names = COMPOSITE_UNIQUE.get(meta.name)
        if not names:
            return
        seen: set[tuple] = set()
        where = " AND ".join(f"{q(n)} IS ?" for n in names)
        for p in pendings:
            if not results[p.index].success:
                continue
            combo = tuple(p.values.get(n) for n in names)
            if any(n not in p.values for n in names[:-1]):
                continue  # an update that leaves the identifying fields alone
            folded = tuple(v.lower() if isinstance(v, str) else v for v in combo)
            clash = folded in seen
            if not clash:
                row = self.db.execute(f"SELECT Id FROM {q(meta.name)} WHERE IsDeleted=0 AND {where} AND Id IS NOT ?",
                                      (*combo, p.record_id)).fetchone()
                clash = row is not None
            if clash:
                results[p.index].fail("DUPLICATE_VALUE", f"duplicate value found: {', '.join(names)} duplicate "
                                      "another record", list(names))
                continue
            seen.add(folded)

    def _check_unique(self, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult]) -> None:
        self._check_composite_unique(meta, pendings, results)
        unique = [f for f in meta.fields.values() if f.unique and f.name != "Id"]
        for f in unique:
            seen: dict[Any, int] = {}
            values = []
            for p in pendings:
                value = p.values.get(f.name)
                if value is None or not results[p.index].success:
                    continue
                key = value.lower() if isinstance(value, str) else value
                if key in seen:
                    results[p.index].fail("DUPLICATE_VALUE", f"duplicate value found: {f.name} duplicates value on "
                                          "another record in this batch", [f.name])
                    continue
                seen[key] = p.index
                values.append(value)
            if not values:
                continue
            hits = self.find_ids_by(meta, f, values)
            for p in pendings:
                value = p.values.get(f.name)
                if value is None or not results[p.index].success:
                    continue
                others = [rid for rid in hits.get(value, []) if rid != p.record_id]
                if others:
                    results[p.index].fail("DUPLICATE_VALUE", f"duplicate value found: {f.name} duplicates value on "
                                          f"record with id: {others[0]}", [f.name])

    def _check_rules(self, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult],
                     opts: WriteOptions) -> None:
        rule = self.knobs.validation_rules.get(meta.name)
        for p in pendings:
            result = results[p.index]
            if not result.success:
                continue
            applies = rule is not None and not (rule.only_when_set and not any(
                p.values.get(f) not in (None, "") for f in rule.fields))
            if applies and not opts.admin and rejected_by_rule(rule, self.knobs.seed, meta.name, p.content):
                result.fail("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, rule.fields)
            elif not opts.admin and self.dice.lock_row(opts.family):
                result.fail("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")

    @staticmethod
    def _finish_all_or_none(results: list[RowResult], opts: WriteOptions) -> bool:
        """True when the batch may be written."""
        if not opts.all_or_none or all(r.success for r in results):
            return True
        for r in results:
            if r.success:
                r.success = False
                r.id = None
                r.errors = [error("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all "
                                  "records were valid and the request was using AllOrNone header")]
        return False

    # ----- insert --------------------------------------------------------------------------------------
    def insert(self, obj: str, rows: list[dict[str, Any]], opts: WriteOptions | None = None,
               assignment_rule: bool | None = None) -> list[RowResult]:
        opts = opts or WriteOptions()
        meta = self.schema.objects[obj]
        results = [RowResult() for _ in rows]
        if obj in SEED_ONLY_OBJECTS and not opts.admin:
            for r in results:
                r.fail("INSUFFICIENT_ACCESS_OR_READONLY", f"The migration user cannot create {obj} records in this "
                       "org; seed them through POST /__admin/seed")
            return results
        if not meta.createable and not opts.admin:
            for r in results:
                r.fail("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {obj}")
            return results
        with self.lock:
            pendings = []
            for i, row in enumerate(rows):
                p = self._coerce(meta, row, "insert", opts, results[i], i)
                if p is not None:
                    pendings.append(p)
            self._resolve_relationships(pendings, results)
            pendings = [p for p in pendings if results[p.index].success]
            self._apply_defaults(meta, pendings, results, opts, assignment_rule)
            knowledge.check_insert(self, meta, pendings, results)
            self._check_references(meta, pendings, results)
            self._check_unique(meta, pendings, results)
            self._check_rules(meta, pendings, results, opts)
            if not self._finish_all_or_none(results, opts):
                return results
            ok = [p for p in pendings if results[p.index].success]
            self._write_inserts(meta, ok, results)
        return results

    def _apply_defaults(self, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult],
                        opts: WriteOptions, assignment_rule: bool | None) -> None:
        now = now_iso()
        user = self.running_user_id
        required = [f for f in meta.fields.values() if f.required_on_create and f.stored]
        defaults = [(f.name, to_stored(f, f.default_value, from_csv=False)) for f in meta.fields.values()
                    if f.default_value is not None and f.createable and f.stored]
        rule_queue = None
        rule = self.knobs.assignment_rules.get(meta.name)
        apply_rule = opts.auto_assign if assignment_rule is None else assignment_rule
        if rule and apply_rule:
            rule_queue = self._queue_id(rule.get("queue", ""))
        for p in pendings:
            v = p.values
            for name, value in defaults:
                if v.get(name) is None:
                    v[name] = value
            if meta.name == "ContentVersion":
                self._content_version_fields(v, results[p.index])
            missing = [f.name for f in required if v.get(f.name) is None]
            if missing:
                results[p.index].fail("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                                      missing)
                continue
            v["IsDeleted"] = 0
            v.setdefault("CreatedDate", now)
            v.setdefault("CreatedById", user)
            if "LastModifiedDate" in meta.fields:
                v.setdefault("LastModifiedDate", v["CreatedDate"])
                v.setdefault("LastModifiedById", v["CreatedById"])
            v["SystemModstamp"] = now
            if "OwnerId" in meta.fields:
                if rule_queue:
                    v["OwnerId"] = rule_queue
                elif v.get("OwnerId") is None:
                    v["OwnerId"] = user
            self._derived(meta, v, now)

    def _queue_id(self, name: str) -> str | None:
        row = self.db.execute('SELECT Id FROM "Group" WHERE IsDeleted=0 AND Type=\'Queue\' AND '
                              "(DeveloperName=? OR Name=?) LIMIT 1", (name, name)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _derived(meta: ObjectMeta, v: dict[str, Any], now: str) -> None:
        if meta.name == "Case" and "Status" in v:
            closed = v["Status"] in CLOSED_CASE_STATUSES
            v["IsClosed"] = 1 if closed else 0
            v["ClosedDate"] = (v.get("ClosedDate") or v.get("LastModifiedDate") or now) if closed else None
        if meta.name in ("Contact", "Lead", "User") and ("LastName" in v or "FirstName" in v):
            v["Name"] = " ".join(x for x in (v.get("FirstName"), v.get("LastName")) if x)
        if meta.name == "TopicAssignment" and v.get("EntityId"):
            target = v["EntityId"][:3]
            v["EntityType"] = {"500": "Case", "001": "Account", "003": "Contact", "ka0": "Knowledge"}.get(target)

    @staticmethod
    def _content_version_fields(v: dict[str, Any], result: RowResult) -> None:
        path = v.get("PathOnClient")
        data = v.get("VersionData")
        if not path or data is None:
            missing = [n for n, x in (("PathOnClient", path), ("VersionData", data)) if not x and x != b""]
            result.fail("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
            return
        ext = os.path.splitext(path)[1].lstrip(".").lower()
        v.setdefault("Title", os.path.splitext(os.path.basename(path))[0] or path)
        if v.get("Title") is None:
            v["Title"] = os.path.splitext(os.path.basename(path))[0] or path
        v["FileExtension"] = ext or None
        v["FileType"] = _FILE_TYPES.get(ext, "UNKNOWN")
        v["ContentSize"] = len(data)
        v["Checksum"] = hashlib.md5(data).hexdigest()
        v["IsLatest"] = 1
        v["VersionNumber"] = "1"

    def _write_inserts(self, meta: ObjectMeta, ok: list[_Pending], results: list[RowResult]) -> None:
        if not ok:
            return
        ids = self.allocate_ids(meta.key_prefix, len(ok))
        auto = [f for f in meta.fields.values() if f.raw.get("autoNumber") or (meta.name == "Case"
                                                                              and f.name == "CaseNumber")]
        numbers = {f.name: self._autonumber(f"{meta.name}.{f.name}", len(ok)) for f in auto}
        for n, (p, rid) in enumerate(zip(ok, ids, strict=True)):
            p.values["Id"] = rid
            for name, seq in numbers.items():
                p.values[name] = seq[n]
            results[p.index].id = rid
            results[p.index].created = True
        if meta.name == "ContentVersion":
            self._content_documents(ok)
        knowledge.assign_article_ids(self, meta, ok)
        present: set[str] = set()
        for p in ok:
            present.update(p.values)
        cols = [f.name for f in meta.stored_fields() if f.name in present]
        sql = f"INSERT INTO {q(meta.name)} ({', '.join(q(c) for c in cols)}) VALUES ({', '.join('?' * len(cols))})"
        self.db.execute("BEGIN")
        try:
            self.db.executemany(sql, [tuple(p.values.get(c) for c in cols) for p in ok])
            self.db.execute("COMMIT")
        except Exception:
            self.db.execute("ROLLBACK")
            raise
        if meta.name == "ContentVersion":
            links = [{"ContentDocumentId": p.values["ContentDocumentId"],
                      "LinkedEntityId": p.values["FirstPublishLocationId"], "ShareType": "I",
                      "Visibility": "AllUsers"} for p in ok if p.values.get("FirstPublishLocationId")]
            if links:
                self.insert("ContentDocumentLink", links, WriteOptions(admin=True))

    def _content_documents(self, versions: list[_Pending]) -> None:
        """Each new ContentVersion without a ContentDocumentId starts a ContentDocument."""
        fresh = [p for p in versions if not p.values.get("ContentDocumentId")]
        doc_ids = self.allocate_ids("069", len(fresh))
        docs = []
        for p, doc_id in zip(fresh, doc_ids, strict=True):
            v = p.values
            v["ContentDocumentId"] = doc_id
            docs.append((doc_id, v["Title"], v["Id"], v["FileType"], v["FileExtension"], v["ContentSize"],
                         v.get("Description"), v["OwnerId"], 0, v["CreatedDate"], v["CreatedById"],
                         v["LastModifiedDate"], v["LastModifiedById"], v["SystemModstamp"]))
        for p in versions:
            if p in fresh:
                continue
            doc_id = p.values["ContentDocumentId"]
            count = self.db.execute("SELECT COUNT(*) FROM ContentVersion WHERE ContentDocumentId=?",
                                    (doc_id,)).fetchone()[0]
            p.values["VersionNumber"] = str(count + 1)
            self.db.execute("UPDATE ContentVersion SET IsLatest=0 WHERE ContentDocumentId=?", (doc_id,))
            self.db.execute("UPDATE ContentDocument SET LatestPublishedVersionId=?, ContentSize=?, FileType=? "
                            "WHERE Id=?", (p.values["Id"], p.values["ContentSize"], p.values["FileType"], doc_id))
        if docs:
            self.db.executemany(
                "INSERT INTO ContentDocument (Id, Title, LatestPublishedVersionId, FileType, FileExtension, "
                "ContentSize, Description, OwnerId, IsDeleted, CreatedDate, CreatedById, LastModifiedDate, "
                "LastModifiedById, SystemModstamp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", docs)

    # ----- update --------------------------------------------------------------------------------------
    def update(self, obj: str, rows: list[dict[str, Any]], opts: WriteOptions | None = None) -> list[RowResult]:
        opts = opts or WriteOptions()
        meta = self.schema.objects[obj]
        results = [RowResult() for _ in rows]
        if not meta.updateable and not opts.admin:
            for r in results:
                r.fail("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be updated: {obj}")
            return results
        with self.lock:
            pendings = []
            for i, row in enumerate(rows):
                p = self._coerce(meta, row, "update", opts, results[i], i)
                if p is None:
                    continue
                if p.record_id is None:
                    results[i].fail("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
                    continue
                results[i].id = p.record_id
                pendings.append(p)
            self._resolve_relationships(pendings, results)
            pendings = [p for p in pendings if results[p.index].success]
            self._check_update_targets(meta, pendings, results)
            knowledge.check_update(self, meta, pendings, results)
            self._check_references(meta, pendings, results)
            self._check_unique(meta, pendings, results)
            self._check_rules(meta, pendings, results, opts)
            if not self._finish_all_or_none(results, opts):
                return results
            self._write_updates(meta, [p for p in pendings if results[p.index].success])
        return results

    def _check_update_targets(self, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult]) -> None:
        cols = "Id, IsDeleted" + (", Status" if meta.name == "EmailMessage" else "")
        rows = self._existing(meta, [p.record_id for p in pendings if p.record_id], cols)
        seen: set[str] = set()
        for p in pendings:
            result = results[p.index]
            row = rows.get(p.record_id or "")
            if p.record_id in seen:
                result.fail("DUPLICATE_VALUE", "Duplicate id in list: " + (p.record_id or ""), ["Id"])
            elif row is None:
                code = "MALFORMED_ID" if (p.record_id or "")[:3] != meta.key_prefix else "INVALID_CROSS_REFERENCE_KEY"
                result.fail(code, f"invalid cross reference id: {p.record_id}", ["Id"])
            elif row[1]:
                result.fail("ENTITY_IS_DELETED", "entity is deleted", ["Id"])
            elif meta.name == "EmailMessage" and row[2] != "5":
                frozen = [n for n in p.values if n != "IsExternallyVisible" and not meta.fields[n].custom]
                if frozen:
                    result.fail("INVALID_FIELD_FOR_INSERT_UPDATE", "Only IsExternallyVisible and custom fields can "
                                "be updated on an EmailMessage that is not a draft", frozen)
            seen.add(p.record_id or "")

    def _write_updates(self, meta: ObjectMeta, ok: list[_Pending]) -> None:
        now = now_iso()
        user = self.running_user_id
        groups: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
        for p in ok:
            v = p.values
            if "LastModifiedDate" in meta.fields:
                v["LastModifiedDate"] = now
                v["LastModifiedById"] = user
            v["SystemModstamp"] = now
            if meta.name == "Case" and "Status" in v:
                self._derived(meta, v, now)
            elif meta.name in ("Contact", "Lead", "User") and ("LastName" in v or "FirstName" in v):
                current = self.db.execute(f"SELECT FirstName, LastName FROM {q(meta.name)} WHERE Id=?",
                                          (p.record_id,)).fetchone()
                first = v.get("FirstName", current[0])
                last = v.get("LastName", current[1])
                v["Name"] = " ".join(x for x in (first, last) if x)
            cols = tuple(sorted(v))
            groups[cols].append(tuple(v[c] for c in cols) + (p.record_id,))
        self.db.execute("BEGIN")
        try:
            for cols, params in groups.items():
                sets = ", ".join(f"{q(c)}=?" for c in cols)
                self.db.executemany(f"UPDATE {q(meta.name)} SET {sets} WHERE Id=?", params)
            self.db.execute("COMMIT")
        except Exception:
            self.db.execute("ROLLBACK")
            raise

    # ----- upsert --------------------------------------------------------------------------------------
    def upsert(self, obj: str, ext_field: str, rows: list[dict[str, Any]], opts: WriteOptions | None = None,
               assignment_rule: bool | None = None) -> list[RowResult]:
        opts = opts or WriteOptions()
        meta = self.schema.objects[obj]
        f = meta.field(ext_field)
        results = [RowResult() for _ in rows]
        if f is None or not (f.external_id or f.id_lookup):
            for r in results:
                r.fail("INVALID_FIELD", f"Field name provided, {ext_field} does not match an External ID, "
                       f"Salesforce Id, or indexed field for {obj}", [ext_field])
            return results
        with self.lock:
            keyed: list[tuple[int, Any]] = []
            for i, row in enumerate(rows):
                raw = next((v for k, v in row.items() if k.lower() == f.name.lower()), None)
                if raw is None or raw == "" or raw == "#N/A":
                    results[i].fail("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
                    continue
                try:
                    value = normalize_id(str(raw)) if f.type == "id" else to_stored(f, raw, from_csv=opts.from_csv)
                except ValueError_ as exc:
                    results[i].fail(exc.code, exc.message, [exc.field])
                    continue
                keyed.append((i, value))
            counts: dict[Any, int] = defaultdict(int)
            for _, value in keyed:
                counts[value] += 1
            hits = self.find_ids_by(meta, f, [v for v in counts if v is not None])
            inserts: list[tuple[int, dict[str, Any]]] = []
            updates: list[tuple[int, dict[str, Any]]] = []
            for i, value in keyed:
                matches = hits.get(value, [])
                if counts[value] > 1:
                    results[i].fail("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [f.name])
                elif len(matches) > 1:
                    results[i].fail("DUPLICATE_EXTERNAL_ID", f"{f.name}: more than one record found for external id "
                                    f"field: {matches}", [f.name])
                elif matches:
                    body = dict(rows[i])  # the key stays in, so rule hashing sees the same content either way
                    body["Id"] = matches[0]
                    updates.append((i, body))
                elif f.type == "id":
                    results[i].fail("NOT_FOUND", "Provided external ID field does not exist or is not accessible",
                                    [f.name])
                else:
                    inserts.append((i, dict(rows[i])))
            sub_opts = WriteOptions(family=opts.family, from_csv=opts.from_csv, auto_assign=opts.auto_assign,
                                    admin=opts.admin)
            for batch, call in ((inserts, lambda b: self.insert(obj, b, sub_opts, assignment_rule)),
                                (updates, lambda b: self.update(obj, b, sub_opts))):
                if not batch:
                    continue
                sub = call([body for _, body in batch])
                for (i, _), res in zip(batch, sub, strict=True):
                    results[i] = res
            if opts.all_or_none and not all(r.success for r in results):
                raise_all = [r for r in results if r.success]
                if raise_all:
                    # written rows are taken back, as the real all-or-none transaction would
                    self.delete([r.id for r in raise_all if r.created and r.id], hard=True,
                                opts=WriteOptions(admin=True))
                self._finish_all_or_none(results, opts)
        return results

    # ----- delete --------------------------------------------------------------------------------------
    def delete(self, ids: list[str], *, hard: bool = False, opts: WriteOptions | None = None,
               expect: str | None = None) -> list[RowResult]:
        opts = opts or WriteOptions()
        results = [RowResult() for _ in ids]
        with self.lock:
            by_object: dict[str, list[tuple[int, str]]] = defaultdict(list)
            for i, raw in enumerate(ids):
                rid = normalize_id(raw or "")
                meta = self.schema.object_for_id(rid) if rid else None
                if rid is None or meta is None or (expect and meta.name != expect):
                    results[i].fail("MALFORMED_ID", f"malformed id {raw}", ["Id"])
                    continue
                results[i].id = rid
                by_object[meta.name].append((i, rid))
            to_delete: dict[str, list[str]] = defaultdict(list)
            for obj, items in by_object.items():
                meta = self.schema.objects[obj]
                rows = self._existing(meta, [rid for _, rid in items])
                _, restrict = self.schema.child_rules(obj)
                blocked: dict[str, str] = {}
                for child, fname in restrict:
                    live = [rid for _, rid in items]
                    for start in range(0, len(live), _CHUNK):
                        chunk = live[start:start + _CHUNK]
                        sql = (f"SELECT DISTINCT {q(fname)} FROM {q(child)} WHERE IsDeleted=0 AND {q(fname)} IN "
                               f"({','.join('?' * len(chunk))})")
                        for (parent,) in self.db.execute(sql, chunk):
                            blocked[parent] = child
                for i, rid in items:
                    row = rows.get(rid)
                    if row is None or (row[1] and not hard):
                        results[i].fail("ENTITY_IS_DELETED" if row else "INVALID_CROSS_REFERENCE_KEY",
                                        "entity is deleted" if row else f"invalid cross reference id: {rid}")
                    elif not meta.deletable and not opts.admin:
                        results[i].fail("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {obj}")
                    elif rid in blocked:
                        results[i].fail("DELETE_FAILED", f"Your attempt to delete {rid} could not be completed "
                                        f"because it is associated with the following {blocked[rid]} records.")
                    elif not opts.admin and self.dice.lock_row(opts.family):
                        results[i].fail("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
                    else:
                        to_delete[obj].append(rid)
            if not self._finish_all_or_none(results, opts):
                return results
            self.db.execute("BEGIN")
            try:
                for obj, rids in to_delete.items():
                    self._delete_cascade(obj, rids, hard)
                self.db.execute("COMMIT")
            except Exception:
                self.db.execute("ROLLBACK")
                raise
        return results

    def _delete_cascade(self, obj: str, ids: list[str], hard: bool) -> None:
        if not ids:
            return
        cascade, _ = self.schema.child_rules(obj)
        for child, fname in cascade:
            children: list[str] = []
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start:start + _CHUNK]
                sql = (f"SELECT Id FROM {q(child)} WHERE IsDeleted=0 AND {q(fname)} IN ({','.join('?' * len(chunk))})")
                children += [r[0] for r in self.db.execute(sql, chunk)]
            # links and topic assignments never sit in the recycle bin
            self._delete_cascade(child, children, hard or child in ("ContentDocumentLink", "TopicAssignment"))
        now = now_iso()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            if hard:
                self.db.execute(f"DELETE FROM {q(obj)} WHERE Id IN ({marks})", chunk)
            else:
                self.db.execute(f"UPDATE {q(obj)} SET IsDeleted=1, SystemModstamp=? WHERE Id IN ({marks})",
                                [now, *chunk])

    # ----- admin seeding -------------------------------------------------------------------------------
    def seed(self, users: list[dict[str, Any]], queues: list[dict[str, Any]]) -> dict[str, Any]:
        """Create Users and Queues (Group Type=Queue + QueueSobject + GroupMember) as an org admin would."""
        admin = WriteOptions(admin=True)
        out: dict[str, Any] = {"users": {}, "queues": {}, "errors": []}
        with self.lock:
            if users:
                for spec, res in zip(users, self.upsert("User", "Username", users, admin), strict=True):
                    if res.success:
                        out["users"][spec["Username"]] = res.id
                    else:
                        out["errors"].append({"user": spec.get("Username"), "errors": res.errors})
            for spec in queues:
                body = {k: v for k, v in spec.items() if k not in ("sobjectTypes", "members")}
                body["Type"] = "Queue"
                body.setdefault("DeveloperName", str(spec.get("Name", "")).replace(" ", "_"))
                res = self.insert("Group", [body], admin)[0]
                if not res.success:
                    out["errors"].append({"queue": spec.get("Name"), "errors": res.errors})
                    continue
                out["queues"][body["DeveloperName"]] = res.id
                qs = [{"QueueId": res.id, "SobjectType": s} for s in spec.get("sobjectTypes", ["Case"])]
                members = []
                for member in spec.get("members", []):
                    uid = out["users"].get(member) or (self.find_ids_by(
                        self.schema.objects["User"], self.schema.objects["User"].fields["Username"], [member]
                    ).get(member) or [None])[0]
                    if uid:
                        members.append({"GroupId": res.id, "UserOrGroupId": uid})
                    else:
                        out["errors"].append({"queue": spec.get("Name"), "member": member, "errors": "no such user"})
                for obj, items in (("QueueSobject", qs), ("GroupMember", members)):
                    for r in self.insert(obj, items, admin) if items else []:
                        if not r.success:
                            out["errors"].append({"queue": spec.get("Name"), obj: r.errors})
        return out
