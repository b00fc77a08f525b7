"""Files: ContentVersion (bytes from the stage) linked to the Case.

Public files are published straight onto the Case (FirstPublishLocationId). Files of internal notes get
an explicit ContentDocumentLink with Visibility InternalUsers, so customers never see them. Disallowed
types (by sanitised name in the transform, by content here: a program is held whatever it is called),
oversized files and bytes missing from the stage are held with the reason, never dropped.
Idempotent: ContentVersion carries the legacy external ID, looked up before any upload.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from simple_salesforce.exceptions import SalesforceError

from hdm.crosswalk.base import CrosswalkEntry, Origin, State
from hdm.destinations.salesforce.chunk import ChunkRun, payload_of
from hdm.destinations.salesforce.file_safety import SNIFF_BYTES, sniff_executable

OBJ = "ContentVersion"
LEGACY = "hdm_Legacy_Id__c"


def load_files(run: ChunkRun, rows: list[dict[str, Any]], stage: Any) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    cases = run.resolve(r["_lookups"].get("LinkedEntityId") for r in rows)
    entries: list[CrosswalkEntry] = []
    live = []
    for row in rows:
        key = row["_source_key"]
        before = next((e for e in prior.get(key, []) if e.dest_object == OBJ), None)
        if row.get("_hold"):
            run.outcome(key, OBJ, "held", None, "FILE_HELD", row["_hold"])
            entries.append(run.entry(key, OBJ, State.HELD, reason=row["_hold"], row=row))
        elif before is not None and before.state == State.LOADED and before.dest_id:
            run.outcome(key, OBJ, "unchanged", before.dest_id)
        elif cases.get(row["_lookups"].get("LinkedEntityId")) is None:
            reason = "its Case was not loaded: file not loaded"
            run.outcome(key, OBJ, "skipped", None, "PARENT_NOT_LOADED", reason)
            entries.append(run.entry(key, OBJ, State.SKIPPED, reason=reason, row=row))
        else:
            live.append(row)
    existing = {v[LEGACY]: v for v in run.api.query_in(f"Id, ContentDocumentId, {LEGACY}", OBJ, LEGACY,
                                                           [r[LEGACY] for r in live])} if live else {}
    todo = []
    for row in live:
        key = row["_source_key"]
        case_id = cases[row["_lookups"]["LinkedEntityId"]]
        version = existing.get(row[LEGACY])
        if version is not None:  # uploaded by an interrupted earlier attempt
            _ensure_internal_link(run, row, version, case_id)
            run.outcome(key, OBJ, "created", version["Id"], None, "found by verification after an interrupted run")
            entries.append(run.entry(key, OBJ, State.LOADED, Origin.CREATED, version["Id"], row=row))
        else:
            todo.append((row, case_id))
    # One pending marker per file before any upload (a re-run then verifies by the external ID first).
    run.crosswalk.put_many([run.entry(row["_source_key"], OBJ, State.PENDING, row=row) for row, _ in todo])
    workers = max(1, min(run.options.file_upload_concurrency, len(todo)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hdm-files") as pool:
        answers = list(pool.map(lambda item: _upload(run, stage, *item), todo))
    for (row, _), (status, value, code, msg) in zip(todo, answers, strict=True):
        key = row["_source_key"]
        if status == "held":
            run.outcome(key, OBJ, "held", None, "FILE_HELD", msg)
            run.flag(key, "file_held", msg, "VersionData")
            entries.append(run.entry(key, OBJ, State.HELD, reason=msg, row=row))
        elif status == "rejected":
            run.outcome(key, OBJ, "rejected", None, code, msg)
            entries.append(run.entry(key, OBJ, State.REJECTED, reason=f"{code}: {msg}", row=row))
        else:
            run.outcome(key, OBJ, "created", value)
            entries.append(run.entry(key, OBJ, State.LOADED, Origin.CREATED, value, row=row))
    run.crosswalk.put_many(entries)


def _upload(run: ChunkRun, stage: Any, row: dict[str, Any], case_id: str
            ) -> tuple[str, Optional[str], Optional[str], Optional[str]]:
    """Upload one file (runs on a small thread pool): (status, version id, error code, message)."""
    try:
        data = stage.get_bytes(row["_blob"])
    except KeyError:
        return "held", None, None, "file bytes are missing from the stage"
    program = sniff_executable(data[:SNIFF_BYTES])
    if program is not None:  # whatever the name says: the content decides
        return "held", None, None, f"content is {program} (named {row.get('PathOnClient')!r}): not uploaded"
    body = {k: v for k, v in payload_of(row).items() if v is not None}
    body["VersionData"] = base64.b64encode(data).decode("ascii")
    if not row.get("_internal"):
        body["FirstPublishLocationId"] = case_id
    try:
        res = run.api.create(OBJ, body)
    except SalesforceError as exc:  # one file refused must not stop the chunk; the reason is kept
        if exc.status == 429 or exc.status >= 500:
            # throttled, or the upload's fate is unknown (it may exist): the chunk fails, and its pending marker
            # makes the next run look the file up by its legacy ID before uploading again
            raise
        content = exc.content if isinstance(exc.content, list) else [{}]
        code = (content[0] or {}).get("errorCode", f"HTTP_{exc.status}")
        return "rejected", None, code, (content[0] or {}).get("message", "")
    vid = res.get("id")
    if row.get("_internal"):
        version = run.api.query(f"SELECT Id, ContentDocumentId FROM {OBJ} WHERE Id = '{vid}'")[0]
        _ensure_internal_link(run, row, version, case_id)
    return "created", vid, None, None


def _ensure_internal_link(run: ChunkRun, row: dict[str, Any], version: dict[str, Any], case_id: str) -> None:
    doc = version.get("ContentDocumentId")
    if not doc:
        return
    links = run.api.query(f"SELECT Id, Visibility FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}' "
                          f"AND LinkedEntityId = '{case_id}'")
    if links:
        return
    visibility = "InternalUsers" if row.get("_internal") else "AllUsers"
    run.api.create("ContentDocumentLink", {"ContentDocumentId": doc, "LinkedEntityId": case_id, "ShareType": "V",
                                           "Visibility": visibility})
