"""The Salesforce edge: every HTTP call the loader makes, through simple-salesforce, with retries and a
call counter. Bulk API 2.0 results are correlated by a key column (the external ID), never by position.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import tenacity
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import ColumnDelimiter, JobState, LineEnding, Operation, ResultsType, _Bulk2Client
from simple_salesforce.util import call_salesforce

from hdm.destinations.salesforce.bulk_csv import (
    build_csv,
    bulk_error_fields,
    parse_csv,
    parse_csv_columns,
    split_bulk_error,
)
from hdm.destinations.salesforce.errors import SalesforceDestinationError
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.retry import TRANSIENT_CODES, call_with_retry, make_retrying

AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}
NOT_CORRELATED = "RESULT_NOT_CORRELATED"


@dataclass
class RowResult:
    """The outcome of one row of a write, keyed by the caller's correlation key."""

    key: str
    success: bool
    id: Optional[str] = None
    created: Optional[bool] = None
    error_code: Optional[str] = None
    message: Optional[str] = None
    fields: tuple[str, ...] = ()  # the fields the org's error names


@dataclass
class CallCounter:
    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.total += n
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n


def soql_quote(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _in_statements(head: str, tail: str, values: list[str], max_chars: int) -> list[str]:
    """SOQL statements ``head + quoted values + tail``, each at most ``max_chars`` long (one value at least)."""
    out: list[str] = []
    batch: list[str] = []
    size = len(head) + len(tail)
    for v in values:
        quoted = soql_quote(v)
        if batch and size + len(quoted) + 1 > max_chars:
            out.append(head + ",".join(batch) + tail)
            batch, size = [], len(head) + len(tail)
        batch.append(quoted)
        size += len(quoted) + 1
    if batch:
        out.append(head + ",".join(batch) + tail)
    return out


class SalesforceApi:
    def __init__(self, sf: Salesforce, options: SalesforceOptions):
        self.sf = sf
        self.options = options
        self.calls = CallCounter()
        self._retrying = make_retrying(options.retry_attempts, options.retry_base_seconds,
                                       options.retry_max_seconds, options.retry_total_seconds)
        self._insert_retrying = make_retrying(options.retry_attempts, options.retry_base_seconds,
                                              options.retry_max_seconds, options.retry_total_seconds,
                                              idempotent=False)
        self._seconds_per_row: dict[tuple[str, bool], float] = {}  # learnt from the org's job processing times

    def _call(self, kind: str, fn, *args, _inserts: bool = False, **kwargs):
        """One HTTP call under the backoff policy. ``_inserts=True`` marks a non-idempotent write: it is sent
        again only when the failure certainly never reached the server; any other failure fails the chunk
        (its pending markers make the next run verify before it sends again)."""
        def attempt():
            self.calls.add(kind)
            return fn(*args, **kwargs)

        return call_with_retry((self._insert_retrying if _inserts else self._retrying).copy(), attempt)

    # -- reads ----------------------------------------------------------------------------------
    def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a SOQL query (REST, following nextRecordsUrl)."""
        res = self._call("query", self.sf.query, soql)
        records = list(res.get("records", []))
        while not res.get("done", True) and res.get("nextRecordsUrl"):
            res = self._call("query", self.sf.query_more, res["nextRecordsUrl"], True)
            records.extend(res.get("records", []))
        for r in records:
            r.pop("attributes", None)
        return records

    REST_IN_QUERIES_MAX = 2  # more REST queries than this for one IN list: one Bulk query job instead
    BULK_SOQL_MAX_CHARS = 90_000  # Salesforce accepts SOQL statements up to 100,000 characters
    BULK_QUERY_PAGE = 50_000

    def query_in(self, select: str, sobject: str, field_name: str, values: Iterable[str],
                 extra_where: str = "", max_chars: int = 11_000) -> list[dict[str, Any]]:
        """``SELECT … WHERE field IN (…)``, the value list cut by length: a REST query travels in the URL, which
        Salesforce caps at 16,384 characters (URL-encoding grows the statement by about a third). A list that
        would need more than ``REST_IN_QUERIES_MAX`` REST queries goes through Bulk 2.0 query jobs instead."""
        vals = list(dict.fromkeys(v for v in values if v))
        head = f"SELECT {select} FROM {sobject} WHERE {field_name} IN ("
        tail = ")" + (f" AND {extra_where}" if extra_where else "")
        statements = _in_statements(head, tail, vals, max_chars)
        if len(statements) > self.REST_IN_QUERIES_MAX:
            out: list[dict[str, Any]] = []
            for soql in _in_statements(head, tail, vals, self.BULK_SOQL_MAX_CHARS):
                out.extend(self.bulk_query(sobject, soql))
            return out
        return [r for soql in statements for r in self.query(soql)]

    def describe(self, sobject: str) -> dict[str, Any]:
        return self._call("describe", getattr(self.sf, sobject).describe)

    def count(self, sobject: str) -> int:
        res = self._call("query", self.sf.query, f"SELECT COUNT() FROM {sobject}")
        return int(res.get("totalSize", 0))

    def action(self, name: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A standard invocable action (``POST actions/standard/<name>``, body ``{"inputs": [...]}``): one result
        per input. Publishing and archiving are idempotent in effect (a repeat fails per item, reported)."""
        return self._call("actions", self.sf.restful, f"actions/standard/{name}", method="POST",
                          json={"inputs": inputs})

    def tooling(self, action: str, method: str = "GET", data: Optional[dict[str, Any]] = None) -> Any:
        return self._call("tooling", self.sf.toolingexecute, action, method=method, data=data)

    # -- sObject Collections --------------------------------------------------------------------
    def _collection_results(self, keys: Sequence[str], results: Any, insert: bool = False) -> list[RowResult]:
        if not isinstance(results, list) or len(results) != len(keys):
            raise SalesforceDestinationError("sObject Collections answered with an unexpected shape")
        out = []
        for k, r in zip(keys, results, strict=False):
            errs = r.get("errors") or []
            if r.get("success"):
                out.append(RowResult(k, True, r.get("id"), True if insert else r.get("created")))
            else:
                e = errs[0] if errs else {}
                out.append(RowResult(k, False, r.get("id"), None, e.get("statusCode") or e.get("errorCode")
                                     or "UNKNOWN_ERROR", e.get("message"), tuple(e.get("fields") or ())))
        return out

    def _with_lock_retries(self, keys: list[str], rows: list[dict[str, Any]], send) -> list[RowResult]:
        """Send rows; rows refused with a transient per-record code (UNABLE_TO_LOCK_ROW, not processed) are
        sent again under the backoff policy; the last answer of a row that never got through is final."""
        pending = dict(zip(keys, rows, strict=False))
        final: dict[str, RowResult] = {}

        def attempt() -> int:
            results = send(list(pending.keys()), list(pending.values()))
            for r in results:
                final[r.key] = r
                if r.success or r.error_code not in TRANSIENT_CODES:
                    pending.pop(r.key, None)
            return len(pending)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(bool),
            wait=tenacity.wait_random_exponential(multiplier=self.options.retry_base_seconds,
                                                  max=self.options.retry_max_seconds),
            stop=tenacity.stop_after_attempt(self.options.retry_attempts),
            retry_error_callback=lambda state: state.outcome.result(),
        )
        if pending:
            retrying(attempt)
        return [final[k] for k in keys if k in final]

    def collection_upsert(self, sobject: str, ext_field: str, rows: list[dict[str, Any]],
                          headers: Optional[dict[str, str]] = None) -> list[RowResult]:
        keys = [r[ext_field] for r in rows]

        def send(ks, rs):
            out = []
            for i in range(0, len(rs), self.options.collection_size):
                batch = [{"attributes": {"type": sobject}, **r} for r in rs[i: i + self.options.collection_size]]
                res = self._call("collections", self.sf.restful, f"composite/sobjects/{sobject}/{ext_field}",
                                 method="PATCH", json={"allOrNone": False, "records": batch}, headers=headers or {})
                out.extend(self._collection_results(ks[i: i + len(batch)], res))
            return out

        return self._with_lock_retries(keys, rows, send)

    def collection_insert(self, sobject: str, keys: list[str], rows: list[dict[str, Any]],
                          headers: Optional[dict[str, str]] = None) -> list[RowResult]:
        """Insert (not idempotent: callers write pending markers first and verify before a retry)."""
        def send(ks, rs):
            out = []
            for i in range(0, len(rs), self.options.collection_size):
                batch = [{"attributes": {"type": sobject}, **r} for r in rs[i: i + self.options.collection_size]]
                res = self._call("collections", self.sf.restful, "composite/sobjects", method="POST",
                                 json={"allOrNone": False, "records": batch}, headers=headers or {}, _inserts=True)
                out.extend(self._collection_results(ks[i: i + len(batch)], res, insert=True))
            return out

        return self._with_lock_retries(keys, rows, send)

    def collection_update(self, sobject: str, rows: list[dict[str, Any]],
                          headers: Optional[dict[str, str]] = None) -> list[RowResult]:
        keys = [r["Id"] for r in rows]

        def send(ks, rs):
            out = []
            for i in range(0, len(rs), self.options.collection_size):
                batch = [{"attributes": {"type": sobject}, **r} for r in rs[i: i + self.options.collection_size]]
                res = self._call("collections", self.sf.restful, "composite/sobjects", method="PATCH",
                                 json={"allOrNone": False, "records": batch}, headers=headers or {})
                out.extend(self._collection_results(ks[i: i + len(batch)], res))
            return out

        return self._with_lock_retries(keys, rows, send)

    def collection_delete(self, ids: list[str]) -> list[RowResult]:
        def send(ks, _rs):
            out = []
            for i in range(0, len(ks), self.options.collection_size):
                part = ks[i: i + self.options.collection_size]
                res = self._call("collections", self.sf.restful, "composite/sobjects", method="DELETE",
                                 params={"ids": ",".join(part), "allOrNone": "false"})
                out.extend(self._collection_results(part, res))
            return out

        return self._with_lock_retries(ids, ids, send)

    # -- Bulk API 2.0 ---------------------------------------------------------------------------
    def _bulk_client(self, sobject: str) -> _Bulk2Client:
        handler = self.sf.bulk2
        return _Bulk2Client(sobject, handler.bulk2_url, handler.headers, handler.session)

    def bulk_ingest(self, sobject: str, operation: str, rows: list[dict[str, Any]], columns: Sequence[str],
                    key_column: str, ext_field: Optional[str] = None,
                    key_of: Optional[Callable[[str], Optional[str]]] = None) -> list[RowResult]:
        """One Bulk 2.0 job per attempt; results joined to rows through ``key_column`` (or ``key_of`` its value:
        a key read from the value, when the results may carry the value in another form).

        Rows refused with a transient code and rows the server never processed go into a new job (bounded);
        every other failure is final for that row.
        """
        key_fn: Callable[[str], Optional[str]] = key_of or str
        keys = [str(key_fn(str(r[key_column]))) for r in rows]
        if len(set(keys)) != len(keys):
            raise SalesforceDestinationError(f"bulk {operation} on {sobject}: correlation column {key_column} "
                                             "is not unique within the chunk")

        def send(ks, rs):
            return self._bulk_job(sobject, operation, rs, columns, key_column, ext_field, key_fn)

        return self._with_lock_retries(keys, rows, send)

    def _bulk_job(self, sobject: str, operation: str, rows: list[dict[str, Any]], columns: Sequence[str],
                  key_column: str, ext_field: Optional[str], key_fn: Callable[[str], Optional[str]] = str
                  ) -> list[RowResult]:
        def row_key(value: str) -> str:
            return str(key_fn(value))

        client = self._bulk_client(sobject)
        data = build_csv(rows, columns)
        job = self._call("bulk", client.create_job, Operation(operation), external_id_field=ext_field,
                         column_delimiter=ColumnDelimiter.COMMA, line_ending=LineEnding.LF)
        job_id = job["id"]
        if job.get("state") != JobState.open:
            raise SalesforceDestinationError(f"bulk job {job_id} was not opened (state {job.get('state')})")
        self._call("bulk", client.upload_job_data, job_id, data)
        self._call("bulk", client.close_job, job_id)
        info = self._wait(client, job_id, rows=len(rows))
        by_key: dict[str, RowResult] = {}
        ok_text = self._call("bulk", self._ingest_results, client, job_id, ResultsType.successful)
        n_ok = 0
        for value, sf_id, created in parse_csv_columns(ok_text, (key_column, "sf__Id", "sf__Created")):
            k = row_key(value)
            by_key[k] = RowResult(k, True, sf_id or None, created.lower() == "true")
            n_ok += 1
        del ok_text
        if int(info.get("numberRecordsFailed") or 0) or n_ok < len(rows):
            failed = self._call("bulk", self._ingest_results, client, job_id, ResultsType.failed)
            for value, sf_id, error in parse_csv_columns(failed, (key_column, "sf__Id", "sf__Error")):
                k = row_key(value)
                code, msg = split_bulk_error(error)
                by_key[k] = RowResult(k, False, sf_id or None, None, code, msg, bulk_error_fields(error))
        row_keys = [row_key(str(r[key_column])) for r in rows]
        missing = [k for k in row_keys if k not in by_key]
        if missing:
            unprocessed_text = self._call("bulk", self._ingest_results, client, job_id, ResultsType.unprocessed)
            unprocessed = {row_key(v) for (v,) in parse_csv_columns(unprocessed_text, (key_column,))}
            for k in missing:
                if k in unprocessed:  # never processed: safe to send again in the next job
                    by_key[k] = RowResult(k, False, None, None, "SERVER_UNAVAILABLE", "not processed by the Bulk job")
                else:  # unknown fate: never re-sent blindly (an insert could duplicate)
                    by_key[k] = RowResult(k, False, None, None, NOT_CORRELATED, "absent from the Bulk job results")
        return [by_key[k] for k in row_keys]

    @staticmethod
    def _ingest_results(client: _Bulk2Client, job_id: str, kind: str) -> str:
        """A results CSV decoded as UTF-8 (the bytes are UTF-8; ``Response.text`` may guess Latin-1)."""
        url = f"{client.bulk2_url}ingest/{job_id}/{getattr(kind, 'value', kind)}"
        headers = client._get_headers(client.JSON_CONTENT_TYPE, client.CSV_CONTENT_TYPE)
        return call_salesforce(url=url, method="GET", session=client.session, headers=headers).content.decode("utf-8")

    def _wait(self, client: _Bulk2Client, job_id: str, rows: int = 0, is_query: bool = False) -> dict[str, Any]:
        """Poll a job until it ends. The first look comes when the job should be done by the processing time the
        org reported for earlier jobs of this object (``totalProcessingTime`` per row) — at 70 % of that, as the pace
        varies from job to job and another object's pace only bounds a first job from above. Then every
        ``bulk_poll_seconds`` while the job is within twice its expected time, and x1.3 a time after (at most
        5 s), so a job on time costs a few quick polls and a long one few calls."""
        rate_key = (client.object_name, is_query)
        base = self.options.bulk_poll_seconds or 0.05
        known = self._seconds_per_row.get(rate_key)
        if known is None and self._seconds_per_row:  # a first job of this object: other objects' pace
            known = min(self._seconds_per_row.values())
        expected = (known or 0.0) * rows
        started = time.monotonic()
        time.sleep(max(base, min(0.7 * expected, 60.0)))
        deadline = started + 3600
        patient_until = started + 2 * expected
        delay = base
        while time.monotonic() < deadline:
            info = self._call("bulk", client.get_job, job_id, is_query)
            state = info.get("state")
            if state in (JobState.job_complete, JobState.failed, JobState.aborted):
                # a failed job still reports what it did: processed rows are in the results, others unprocessed
                processed = int(info.get("numberRecordsProcessed") or 0)
                if state == JobState.job_complete and processed and info.get("totalProcessingTime") is not None:
                    self._seconds_per_row[rate_key] = float(info["totalProcessingTime"]) / 1000.0 / processed
                return info
            time.sleep(delay)
            if time.monotonic() > patient_until:
                delay = min(delay * 1.3, 5.0)
        raise SalesforceDestinationError(f"bulk job {job_id} did not finish within an hour")

    def bulk_query(self, sobject: str, soql: str) -> list[dict[str, Any]]:
        """Every record of a SOQL query through a Bulk API 2.0 query job (the statement travels in the request
        body, so long IN lists cost a few calls instead of one REST query per 16 KB URL). Empty CSV cells read
        as ``None``, as REST gives null."""
        client = self._bulk_client(sobject)
        job = self._call("bulk", client.create_job, Operation.query, query=soql,
                         column_delimiter=ColumnDelimiter.COMMA, line_ending=LineEnding.LF)
        info = self._wait(client, job["id"], is_query=True)
        if info.get("state") != JobState.job_complete:
            raise SalesforceDestinationError(f"bulk query job {job['id']} ended {info.get('state')}: "
                                             f"{info.get('errorMessage', '')}")
        records: list[dict[str, Any]] = []
        locator = ""
        for _ in range(100_000):  # bounded: one page per call
            page = self._call("bulk", client.get_query_results, job["id"], locator, self.BULK_QUERY_PAGE)
            records.extend({k: (v if v != "" else None) for k, v in r.items()} for r in parse_csv(page["records"]))
            locator = page["locator"]
            if not locator:
                break
        return records

    def bulk_delete(self, sobject: str, ids: list[str]) -> list[RowResult]:
        rows = [{"Id": i} for i in ids]
        return self.bulk_ingest(sobject, "delete", rows, ["Id"], "Id")

    # -- files ----------------------------------------------------------------------------------
    def create(self, sobject: str, data: dict[str, Any], headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
        """Insert one record (not idempotent: retried only when the failure never reached the server)."""
        return self._call("rest", getattr(self.sf, sobject).create, data, headers=headers, _inserts=True)
