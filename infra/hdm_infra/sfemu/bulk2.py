"""Bulk API 2.0: ingest jobs (insert, update, upsert, delete, hardDelete) and query jobs.

Sequence and files follow the notes §1: create -> Open, PUT batches -> 201, PATCH UploadComplete, a worker
thread moves the job InProgress -> JobComplete/Failed, then successfulResults / failedResults /
unprocessedrecords CSVs (paths matched case-insensitively; rows deliberately not in input order).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import queue
import random
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from .org import WriteOptions
from .soql import Query, SoqlError, compile_query
from .values import now_iso, to_csv_text

if TYPE_CHECKING:
    from .app import Emulator

INTERNAL_BATCH = 10_000
CSV_CONTENT_TYPE = "text/csv; charset=UTF-8"  # requests decodes a bare text/csv as Latin-1
DELIMITERS = {"COMMA": ",", "BACKQUOTE": "`", "CARET": "^", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
TERMINAL = ("JobComplete", "Failed", "Aborted")
RESULT_KINDS = {"successfulresults": "success.csv", "failedresults": "failed.csv",
                "unprocessedrecords": "unprocessed.csv"}


def bulk_error_text(err: dict[str, Any]) -> str:
    """A row error as ``sf__Error`` text: "CODE:message:Field1,Field2 --", or "CODE:message:--" when no field
    is named (the form of real failedResults quoted in public reports, e.g. "REQUIRED_FIELD_MISSING:Required
    fields are missing: [ActivityDateTime]:ActivityDateTime --", jsforce issue #217)."""
    fields = ",".join(err.get("fields") or [])
    return f"{err['statusCode']}:{err['message']}:{fields + ' ' if fields else ''}--"


def _error(status: int, code: str, message: str) -> Response:
    from hdm_infra.emulators.kit.app import json_response

    return json_response([{"errorCode": code, "message": message}], status)


@dataclass
class Job:
    info: dict[str, Any]
    directory: Path
    query: Query | None = None
    uploaded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def id(self) -> str:
        return self.info["id"]

    def save(self) -> None:
        (self.directory / "job.json").write_text(json.dumps(self.info))


class Bulk2:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.root = emulator.state_dir / "bulk2"
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self._batches = int(emulator.org._kv("bulk_batches") or 0)
        self._query_jobs = int(emulator.org._kv("bulk_query_jobs") or 0)
        for path in sorted(self.root.glob("*/job.json")):
            info = json.loads(path.read_text())
            if info["state"] in ("UploadComplete", "InProgress") and info["jobType"] == "V2Ingest":
                info["state"] = "Failed"
                info["errorMessage"] = "The emulator restarted while the job was processing"
            self.jobs[info["id"]] = Job(info=info, directory=path.parent)
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="sfemu-bulk2", daemon=True)
        self._worker.start()

    # ----- bookkeeping --------------------------------------------------------------------------------
    def batches_used(self) -> int:
        return self._batches

    def query_jobs_created(self) -> int:
        return self._query_jobs

    def reset(self) -> None:
        for job in list(self.jobs.values()):
            shutil.rmtree(job.directory, ignore_errors=True)
        self.jobs.clear()
        self._batches = 0
        self._query_jobs = 0

    def _new_job(self, version: str, body: dict[str, Any], job_type: str, state: str) -> Job:
        with self.emu.org.lock:
            job_id = self.emu.org.allocate_ids("750", 1)[0]
        now = now_iso()
        info = {
            "id": job_id, "operation": body["operation"], "object": body.get("object"),
            "createdById": self.emu.org.running_user_id, "createdDate": now, "systemModstamp": now, "state": state,
            "externalIdFieldName": body.get("externalIdFieldName"), "concurrencyMode": "Parallel",
            "contentType": "CSV", "apiVersion": float(version), "jobType": job_type,
            "lineEnding": body.get("lineEnding", "LF"), "columnDelimiter": body.get("columnDelimiter", "COMMA"),
            "numberRecordsProcessed": 0, "numberRecordsFailed": 0, "retries": 0, "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0, "apexProcessingTime": 0,
        }
        if job_type == "V2Ingest":
            info["contentUrl"] = f"services/data/v{version}/jobs/ingest/{job_id}/batches"
            if body.get("assignmentRuleId"):
                info["assignmentRuleId"] = body["assignmentRuleId"]
        else:
            info["query"] = body.get("query")
            del info["object"]
        directory = self.root / job_id
        directory.mkdir(parents=True, exist_ok=True)
        job = Job(info=info, directory=directory)
        job.save()
        self.jobs[job_id] = job
        return job

    def _touch(self, job: Job, **changes: Any) -> None:
        job.info.update(changes)
        job.info["systemModstamp"] = now_iso()
        job.save()

    # ----- routing ------------------------------------------------------------------------------------
    def route(self, request: Request, version: str, parts: list[str]) -> tuple[str, Any]:
        kind = parts[0]
        if kind not in ("ingest", "query"):
            return "bulk2_other", lambda: _error(404, "NOT_FOUND", "The requested resource does not exist")
        fam = f"bulk2_{kind}"
        method = request.method
        if len(parts) == 1:
            if method == "POST":
                return f"{fam}_create", lambda: self.create(request, version, kind)
            return f"{fam}_poll", lambda: self.list_jobs(kind)
        job_id = parts[1]
        if len(parts) == 2:
            if method == "GET":
                return f"{fam}_poll", lambda: self.get(job_id, kind)
            if method == "PATCH":
                return f"{fam}_close", lambda: self.set_state(request, job_id, kind)
            if method == "DELETE":
                return f"{fam}_delete", lambda: self.delete(job_id, kind)
        if len(parts) == 3 and kind == "ingest" and parts[2] == "batches" and method == "PUT":
            return f"{fam}_upload", lambda: self.upload(request, job_id)
        if len(parts) == 3 and method == "GET":
            if kind == "ingest":
                return f"{fam}_results", lambda: self.ingest_results(job_id, parts[2])
            if parts[2] == "results":
                return f"{fam}_results", lambda: self.query_results(request, job_id, version)
        return f"{fam}_other", lambda: _error(404, "NOT_FOUND", "The requested resource does not exist")

    def _job(self, job_id: str, kind: str) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or (job.info["jobType"] == "V2Query") != (kind == "query"):
            return None
        return job

    def _info(self, job: Job) -> Response:
        from hdm_infra.emulators.kit.app import json_response

        return json_response(job.info)

    # ----- endpoints ----------------------------------------------------------------------------------
    def create(self, request: Request, version: str, kind: str) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except json.JSONDecodeError:
            return _error(400, "JSON_PARSER_ERROR", "Invalid JSON")
        if not isinstance(body, dict):
            return _error(400, "JSON_PARSER_ERROR", "Invalid JSON")
        if body.get("columnDelimiter", "COMMA") not in DELIMITERS or body.get("lineEnding", "LF") not in ("LF", "CRLF"):
            return _error(400, "INVALIDJOB", "InvalidJob : columnDelimiter or lineEnding is not valid")
        if body.get("contentType", "CSV") != "CSV":
            return _error(400, "INVALIDJOB", "InvalidJob : Only CSV content is supported")
        if kind == "query":
            if body.get("operation") not in ("query", "queryAll"):
                return _error(400, "INVALIDJOB", "InvalidJob : operation must be query or queryAll")
            try:
                query = compile_query(self.emu.org.schema, str(body.get("query", "")),
                                      body["operation"] == "queryAll")
            except SoqlError as exc:
                return _error(400, exc.code, exc.message)
            if query.aggregate or query.count_only:
                return _error(400, "INVALIDJOB", "InvalidJob : Aggregate queries are not supported by Bulk API 2.0")
            self._query_jobs += 1
            with self.emu.org.lock:
                self.emu.org.set_kv("bulk_query_jobs", str(self._query_jobs))
            job = self._new_job(version, body, "V2Query", "UploadComplete")
            job.query = query
            self._queue.put(job.id)
            return self._info(job)
        meta = self.emu.org.schema.get(str(body.get("object", "")))
        if meta is None:
            return _error(400, "NOT_FOUND", f"InvalidJob : sObject type '{body.get('object')}' is not supported.")
        if body.get("operation") not in OPERATIONS:
            return _error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {body.get('operation')}")
        body["object"] = meta.name
        if body["operation"] == "upsert":
            ext = meta.field(str(body.get("externalIdFieldName") or ""))
            if ext is None or not (ext.external_id or ext.id_lookup):
                return _error(400, "INVALIDJOB", f"InvalidJob : Field name provided, "
                              f"{body.get('externalIdFieldName')} does not match an External ID, Salesforce Id, or "
                              f"indexed field for {meta.name}")
            body["externalIdFieldName"] = ext.name
        job = self._new_job(version, body, "V2Ingest", "Open")
        return self._info(job)

    def list_jobs(self, kind: str) -> Response:
        from hdm_infra.emulators.kit.app import json_response

        records = [j.info for j in self.jobs.values() if (j.info["jobType"] == "V2Query") == (kind == "query")]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    def get(self, job_id: str, kind: str) -> Response:
        job = self._job(job_id, kind)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        return self._info(job)

    def upload(self, request: Request, job_id: str) -> Response:
        job = self._job(job_id, "ingest")
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        with job.lock:
            if job.info["state"] != "Open":
                return _error(409, "INVALIDJOBSTATE", f"Job {job_id} is not Open: {job.info['state']}")
            if job.uploaded:
                return _error(400, "INVALIDJOBSTATE", "Job data was already uploaded for this job")
            size = request.content_length or 0
            if size > self.emu.org.knobs.max_upload_bytes:
                return _error(400, "CLIENT_INPUT_ERROR",
                              f"ClientInputError : Upload exceeds the maximum of {self.emu.org.knobs.max_upload_bytes}"
                              " bytes")
            data = request.get_data()
            if len(data) > self.emu.org.knobs.max_upload_bytes:
                return _error(400, "CLIENT_INPUT_ERROR", "ClientInputError : Upload exceeds the maximum size")
            (job.directory / "data.csv").write_bytes(data)
            job.uploaded = True
        return Response(status=201)

    def set_state(self, request: Request, job_id: str, kind: str) -> Response:
        job = self._job(job_id, kind)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            wanted = json.loads(request.get_data() or b"{}").get("state")
        except (json.JSONDecodeError, AttributeError):
            return _error(400, "JSON_PARSER_ERROR", "Invalid JSON")
        with job.lock:
            state = job.info["state"]
            if wanted == "Aborted":
                if state in TERMINAL:
                    return _error(400, "INVALIDJOBSTATE", f"Cannot abort a job in state {state}")
                self._touch(job, state="Aborted")
                return self._info(job)
            if wanted == "UploadComplete" and kind == "ingest":
                if state != "Open":
                    return _error(400, "INVALIDJOBSTATE", f"Job is not Open: {state}")
                self._touch(job, state="UploadComplete")
                self._queue.put(job.id)
                return self._info(job)
        return _error(400, "INVALIDJOBSTATE", f"Unsupported state change to {wanted}")

    def delete(self, job_id: str, kind: str) -> Response:
        job = self._job(job_id, kind)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.info["state"] in ("UploadComplete", "InProgress") and kind == "ingest":
            return _error(400, "INVALIDJOBSTATE", "A job that is processing cannot be deleted")
        self.jobs.pop(job_id, None)
        shutil.rmtree(job.directory, ignore_errors=True)
        return Response(status=204)

    def ingest_results(self, job_id: str, kind: str) -> Response:
        job = self._job(job_id, "ingest")
        name = RESULT_KINDS.get(kind.lower())
        if job is None or name is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.info["state"] not in TERMINAL:
            return _error(400, "INVALIDJOBSTATE", "Job results are available once the job is complete")
        path = job.directory / name
        data = path.read_bytes() if path.exists() else self._empty_results(job, name)
        return Response(data, status=200, content_type=CSV_CONTENT_TYPE)

    def _empty_results(self, job: Job, name: str) -> bytes:
        header = self._header(job)
        prefix = {"success.csv": ["sf__Id", "sf__Created"], "failed.csv": ["sf__Id", "sf__Error"]}.get(name, [])
        return self._csv([prefix + header]) if header or prefix else b""

    def _header(self, job: Job) -> list[str]:
        path = job.directory / "data.csv"
        if not path.exists():
            return []
        with path.open(encoding="utf-8", newline="") as fh:
            return next(csv.reader(fh, delimiter=DELIMITERS[job.info["columnDelimiter"]]), [])

    @staticmethod
    def _csv(rows: list[list[str]]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().encode("utf-8")

    def query_results(self, request: Request, job_id: str, version: str) -> Response:
        job = self._job(job_id, "query")
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if f"{job.info['apiVersion']:.1f}" != version:
            return _error(409, "INVALIDVERSION", "Results must be read with the API version that created the job")
        if job.info["state"] != "JobComplete":
            return _error(400, "INVALIDJOBSTATE", f"Job is {job.info['state']}")
        if job.query is None:
            return _error(400, "INVALIDJOBSTATE", "Query results are no longer available")
        total = int(job.info["numberRecordsProcessed"])
        locator = request.args.get("locator", "")
        try:
            start = int(base64.urlsafe_b64decode(locator.encode()).decode()) if locator else 0
        except ValueError:
            return _error(400, "INVALIDLOCATOR", "Invalid locator")
        max_records = request.args.get("maxRecords")
        count = total - start
        if max_records and max_records.isdigit() and int(max_records) > 0:
            count = min(count, int(max_records))
        count = max(0, count)
        rows = self.emu.fetch_rows(job.query, start, count)
        out = io.StringIO()
        delimiter = DELIMITERS[job.info["columnDelimiter"]]
        ending = "\r\n" if job.info["lineEnding"] == "CRLF" else "\n"
        writer = csv.writer(out, delimiter=delimiter, lineterminator=ending)
        cols = job.query.columns
        writer.writerow([c.label for c in cols])
        for row in rows:
            writer.writerow([to_csv_text(c.meta, row[c.position]) for c in cols])
        nxt = start + len(rows)
        next_locator = base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < total else "null"
        return Response(out.getvalue().encode("utf-8"), status=200, content_type=CSV_CONTENT_TYPE,
                        headers={"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(rows))})

    # ----- processing ---------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            job = self.jobs.get(job_id)
            if job is None:
                continue
            try:
                if job.info["jobType"] == "V2Query":
                    self._run_query(job)
                else:
                    self._run_ingest(job)
            except Exception as exc:  # a bug in the emulator must fail the job, not kill the worker
                self._touch(job, state="Failed", errorMessage=f"InternalServerError : {type(exc).__name__}: {exc}")

    def _run_query(self, job: Job) -> None:
        assert job.query is not None
        self._touch(job, state="InProgress")
        with self.emu.org.lock:
            total = self.emu.org.db.execute(job.query.count_sql, job.query.params).fetchone()[0]
        total = max(0, total - job.query.offset)
        if job.query.limit is not None:
            total = min(total, job.query.limit)
        self._touch(job, state="JobComplete", numberRecordsProcessed=total)

    def _run_ingest(self, job: Job) -> None:
        with job.lock:
            if job.info["state"] != "UploadComplete":
                return
            self._touch(job, state="InProgress")
        path = job.directory / "data.csv"
        if not path.exists():
            self._touch(job, state="Failed", errorMessage="InvalidBatch : No data was uploaded for this job")
            return
        text = path.read_bytes().decode("utf-8", errors="replace")
        if job.info["lineEnding"] == "LF" and "\r\n" in text:
            self._touch(job, state="Failed", errorMessage="ClientInputError : LineEnding is invalid on user data. "
                        "Current LineEnding setting is LF")
            return
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.info["columnDelimiter"]])
        header = next(reader, None)
        if not header:
            self._touch(job, state="Failed", errorMessage="InvalidBatch : The CSV has no header row")
            return
        problem = self._check_header(job, header)
        if problem:
            self._touch(job, state="Failed", errorMessage=problem)
            return
        rows = list(reader)
        clock = time.perf_counter()
        success: list[list[str]] = []
        failed: list[list[str]] = []
        unprocessed: list[list[str]] = []
        failed_job = None
        for start in range(0, len(rows), INTERNAL_BATCH):
            if job.info["state"] == "Aborted":
                unprocessed.extend(rows[start:])
                break
            if self._batches >= self.emu.org.knobs.daily_batch_max:
                failed_job = "Daily limit of Bulk API batches exceeded"
                unprocessed.extend(rows[start:])
                break
            self._batches += 1
            with self.emu.org.lock:
                self.emu.org.set_kv("bulk_batches", str(self._batches))
            chunk = rows[start:start + INTERNAL_BATCH]
            self._process_batch(job, header, chunk, success, failed)
            self._touch(job, numberRecordsProcessed=len(success) + len(failed), numberRecordsFailed=len(failed))
        shuffler = random.Random(job.id)
        shuffler.shuffle(success)
        shuffler.shuffle(failed)
        (job.directory / "success.csv").write_bytes(self._csv([["sf__Id", "sf__Created", *header], *success]))
        (job.directory / "failed.csv").write_bytes(self._csv([["sf__Id", "sf__Error", *header], *failed]))
        (job.directory / "unprocessed.csv").write_bytes(self._csv([header, *unprocessed]))
        counts = {"numberRecordsProcessed": len(success) + len(failed), "numberRecordsFailed": len(failed),
                  "totalProcessingTime": int((time.perf_counter() - clock) * 1000)}
        counts["apiActiveProcessingTime"] = counts["totalProcessingTime"]
        if job.info["state"] == "Aborted":
            self._touch(job, **counts)
        elif failed_job:
            self._touch(job, state="Failed", errorMessage=failed_job, **counts)
        else:
            self._touch(job, state="JobComplete", **counts)

    def _check_header(self, job: Job, header: list[str]) -> str | None:
        meta = self.emu.org.schema.objects[job.info["object"]]
        op = job.info["operation"]
        if op in ("delete", "hardDelete"):
            if [h.lower() for h in header] != ["id"]:
                return "InvalidBatch : Delete and hardDelete jobs take a single Id column"
            return None
        for name in header:
            if "." in name or ":" in name:
                rel = name.split(".", 1)[0].split(":", 1)[0]
                if rel.lower() not in meta.by_relationship:
                    return f"InvalidBatch : Field name not found : {name}"
            elif meta.field(name) is None:
                return f"InvalidBatch : Field name not found : {name}"
        lowered = [h.lower() for h in header]
        if op == "update" and "id" not in lowered:
            return "InvalidBatch : Id column is required for update"
        if op == "upsert" and str(job.info["externalIdFieldName"]).lower() not in lowered:
            return f"InvalidBatch : Field name not found : {job.info['externalIdFieldName']}"
        return None

    def _process_batch(self, job: Job, header: list[str], chunk: list[list[str]], success: list[list[str]],
                       failed: list[list[str]]) -> None:
        org = self.emu.org
        op = job.info["operation"]
        obj = job.info["object"]
        width = len(header)
        good: list[int] = []
        records = []
        for i, row in enumerate(chunk):
            if len(row) != width:
                failed.append(["", f"INVALID_ROW:Row has {len(row)} columns, header has {width}:", *row])
                continue
            good.append(i)
            records.append(dict(zip(header, row, strict=True)))
        opts = WriteOptions(family="bulk2_ingest", from_csv=True, auto_assign=False)
        rule = bool(job.info.get("assignmentRuleId"))
        if op == "insert":
            results = org.insert(obj, records, opts, assignment_rule=rule)
        elif op == "update":
            results = org.update(obj, records, opts)
        elif op == "upsert":
            results = org.upsert(obj, job.info["externalIdFieldName"], records, opts, assignment_rule=rule)
        else:
            results = org.delete([next(iter(r.values())) for r in records], hard=op == "hardDelete", opts=opts,
                                 expect=obj)
        for i, res in zip(good, results, strict=True):
            row = chunk[i]
            if res.success:
                success.append([res.id or "", "true" if res.created else "false", *row])
            else:
                err = res.errors[0]
                failed.append([res.id or "", bulk_error_text(err), *row])
