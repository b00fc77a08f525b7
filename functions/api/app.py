"""The trigger API (API Gateway REST, IAM auth): start a migration, watch it, approve it, roll it back.

POST /migrations                      start (returns the id at once; the same id and config again is a no-op)
GET  /migrations/{migration_id}         state, phase progress and counts
POST /migrations/{migration_id}/approve release (or reject) the approval gate
POST /migrations/{migration_id}/rollback start the rollback workflow

Input is checked before anything is stored or started (so before any secret is read): bodies above
MAX_BODY_BYTES answer 413, bodies that are not JSON 400, a config the schema refuses or that names a host,
domain, local path or secret the stack does not allow (hdm.pipeline.stack_policy) 422.
One run at a time per migration: a conditional write on the runs table and a deterministic execution
name; a second start while one runs answers 409.
"""

import base64
import binascii
import json
import re
import time
import uuid
from typing import Any, Optional

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext
from hdm.engines import aws
from hdm.pipeline.config import MigrationConfig, validation_problems
from hdm.pipeline.stack_policy import StackPolicy
from pydantic import BaseModel, Field, ValidationError

logger = aws.logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)

MAX_BODY_BYTES = 64 * 1024  # a migration config is a few KiB
MIGRATION_ID = r"^[a-z0-9][a-z0-9-]{2,62}$"
START_GRACE_SECONDS = 120  # a start recorded but not yet in Step Functions is another request's, this long


class ApprovalBody(BaseModel):
    approved: bool = True
    reason: Optional[str] = Field(None, max_length=2000)


class ConflictError(Exception):
    """409; ``locked`` when the conflict is another run (or rollback) of the same migration in progress."""

    def __init__(self, message: str, locked: bool = True):
        super().__init__(message)
        self.locked = locked


def _caller() -> str:
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


def _unprocessable(message: str, errors: list[dict[str, Any]]) -> Response:
    return Response(422, content_types.APPLICATION_JSON, json.dumps({"message": message, "errors": errors}))


@app.post("/migrations")
@tracer.capture_method
def start_migration():
    body = app.current_event.json_body
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object (a migration config)")
    try:
        config = MigrationConfig.model_validate(body)
    except ValidationError as exc:  # the messages name fields, never the values sent
        return _unprocessable("invalid config", validation_problems(exc))
    refused = StackPolicy.from_env().problems(config)
    if refused:
        logger.warning("config refused by the stack policy", extra={"fields": [".".join(e["loc"]) for e in refused]})
        return _unprocessable("the config names what this stack does not allow: "
                              + "; ".join(f"{'.'.join(e['loc'])} {e['msg']}" for e in refused), refused)
    migration_id = config.migration_id
    settings = aws.settings()
    runs = aws.runs()
    config_json = config.to_json()
    run_id = uuid.uuid4().hex[:12]
    if (app.current_event.get_query_string_value("delta", "") or "").lower() in ("1", "true", "yes"):
        return _start_delta(config, config_json, run_id)
    execution_arn = _execution_arn(settings.migration_state_machine_arn, migration_id)
    # the conditional write is the lock: of two first starts, one creates the item and the other lands below
    if runs.create(migration_id, run_id, config_json, execution_arn):
        return _start_execution(migration_id, run_id, migration_id, config.require_approval, resumed=False)
    existing = runs.get(migration_id)
    if json.loads(existing["config"]) != json.loads(json.dumps(config_json, sort_keys=True)):
        raise ConflictError(f"migration {migration_id} exists with a different config", locked=False)
    sfn = aws.client("stepfunctions")
    try:
        previous = sfn.describe_execution(executionArn=existing["execution_arn"])["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        # recorded but not in Step Functions: another request is starting it right now, unless its start
        # failed or it is older than any request can take (then start it now)
        age = time.time() - float(existing.get("updated_at") or 0)
        if existing.get("status") != "start_failed" and age < START_GRACE_SECONDS:
            raise ConflictError(f"migration {migration_id} is being started by another request; "
                                "one run at a time per migration") from None
        previous = "FAILED"
    if previous == "RUNNING":
        raise ConflictError(f"migration {migration_id} is already running "
                            f"(execution {existing['execution_arn'].rsplit(':', 1)[-1]}); one run at a time per "
                            "migration: watch it with GET /migrations/{id}")
    if previous not in RESUMABLE or existing.get("status", "").startswith("roll"):
        return Response(200, content_types.APPLICATION_JSON,
                        json.dumps({"migration_id": migration_id, "status": existing["status"], "created": False}))
    # the last run failed: run again under a new execution; every step skips or repeats its work idempotently.
    # The name is deterministic (attempt number), so two requests resuming at once ask Step Functions for the
    # same name, and the run_id condition lets only one of them switch the runs item.
    attempt = int(existing.get("attempts") or 1) + 1
    name = f"{migration_id}_{attempt}"  # "_" never occurs in an id: no clash with another migration
    was_delta = bool(existing.get("delta_run_id")) and existing.get("delta_run_id") == existing["run_id"]
    if not runs.begin_retry(migration_id, existing["run_id"], run_id,  # a failed delta resumes as a delta
                            _execution_arn(settings.migration_state_machine_arn, name), attempt, delta=was_delta):
        raise ConflictError(f"migration {migration_id} is being resumed by another request")
    approved_before = existing.get("approved") is True
    return _start_execution(migration_id, run_id, name, config.require_approval and not approved_before,
                            resumed=True)


RESUMABLE = {"FAILED", "TIMED_OUT", "ABORTED"}


def _start_delta(config: MigrationConfig, config_json: dict[str, Any], run_id: str) -> Response:
    """``POST /migrations?delta=true``: after a finished run, a run that moves only what changed in the source
    since (hdm/pipeline/delta.py). Refused while a run is going, or before one finished."""
    migration_id = config.migration_id
    runs = aws.runs()
    try:
        existing = runs.get(migration_id)
    except aws.RunNotFound:
        raise ConflictError(f"migration {migration_id} has no finished run to take a delta from: start it first",
                            locked=False) from None
    if json.loads(existing["config"]) != json.loads(json.dumps(config_json, sort_keys=True)):
        raise ConflictError(f"migration {migration_id} exists with a different config", locked=False)
    if existing.get("status") != "succeeded":
        raise ConflictError(f"migration {migration_id} is {existing.get('status')}: a delta run follows a run that "
                            "finished (watch it with GET /migrations/{id}, or resume it without delta)",
                            locked=existing.get("status") == "running")
    attempt = int(existing.get("attempts") or 1) + 1
    name = f"{migration_id}_{attempt}"
    arn = _execution_arn(aws.settings().migration_state_machine_arn, name)
    if not runs.begin_retry(migration_id, existing["run_id"], run_id, arn, attempt, delta=True):
        raise ConflictError(f"migration {migration_id} is being started by another request")
    return _start_execution(migration_id, run_id, name, False, resumed=True)


def _execution_arn(state_machine_arn: Optional[str], name: str) -> str:
    return (state_machine_arn or "").replace(":stateMachine:", ":execution:") + f":{name}"


def _start_execution(migration_id: str, run_id: str, name: str, require_approval: bool, resumed: bool) -> Response:
    runs = aws.runs()
    sfn = aws.client("stepfunctions")
    execution_input = {"migration_id": migration_id, "run_id": run_id, "require_approval": require_approval}
    try:
        started = sfn.start_execution(stateMachineArn=aws.settings().migration_state_machine_arn, name=name,
                                      input=json.dumps(execution_input))
    except sfn.exceptions.ExecutionAlreadyExists as exc:  # another request started this very run
        raise ConflictError(f"an execution named {name} already exists; one run at a time per migration") from exc
    except Exception:
        runs.mark_start_failed(migration_id, run_id)  # the next request may start it at once
        raise
    runs.update(migration_id, execution_arn=started["executionArn"])
    logger.info("migration started", extra={"migration_id": migration_id, "run_id": run_id, "resumed": resumed})
    return Response(202, content_types.APPLICATION_JSON,
                    json.dumps({"migration_id": migration_id, "run_id": run_id, "status": "running",
                                "created": not resumed, "resumed": resumed, "execution_name": name,
                                "execution_arn": started["executionArn"]}))


def _map_runs(execution_arn: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    out = []
    for run in sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", []):
        desc = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
        counts = desc.get("itemCounts", {})
        label = run["mapRunArn"].split(":mapRun:", 1)[-1].split("/", 1)[-1].split(":", 1)[0]
        out.append({"label": label, "status": desc.get("status"),
                    **{k: counts.get(k, 0) for k in ("total", "succeeded", "failed", "running", "pending")}})
    return out


@app.get("/migrations/<migration_id>")
@tracer.capture_method
def get_migration(migration_id: str) -> dict[str, Any]:
    item = _run(migration_id)
    sfn = aws.client("stepfunctions")
    execution: dict[str, Any] = {}
    map_runs: list[dict[str, Any]] = []
    if item.get("execution_arn"):
        try:
            desc = sfn.describe_execution(executionArn=item["execution_arn"])
            execution = {"status": desc["status"], "started_at": str(desc.get("startDate", "")),
                         "stopped_at": str(desc.get("stopDate", "") or "")}
        except sfn.exceptions.ExecutionDoesNotExist:
            execution = {"status": "UNKNOWN"}
        try:
            map_runs = _map_runs(item["execution_arn"])
        except Exception:  # noqa: BLE001 - progress counts are a convenience; the status above still answers
            logger.warning("map runs unavailable", extra={"migration_id": migration_id})
    return {
        "migration_id": migration_id,
        "run_id": item.get("run_id"),
        "status": item.get("status"),
        "execution": execution,
        "progress": item.get("progress", {}),
        "map_runs": map_runs,
        "failure": item.get("failure"),
        "rollback_execution_arn": item.get("rollback_execution_arn"),
    }


@app.post("/migrations/<migration_id>/approve")
@tracer.capture_method
def approve_migration(migration_id: str, body: ApprovalBody) -> dict[str, Any]:
    item = _run(migration_id)
    by = _caller()
    mapping_hash = (item.get("approval_request") or {}).get("mapping_hash")  # the mapping parked for approval
    try:
        token = aws.runs().take_approval_token(migration_id, "approved" if body.approved else "rejected", by)
    except LookupError as exc:
        raise ConflictError(str(exc), locked=False) from exc
    sfn = aws.client("stepfunctions")
    if body.approved:
        aws.runs().update(migration_id, approved_at=int(time.time()), approved_mapping_hash=mapping_hash)
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True, "by": by,
                                                                  "mapping_hash": mapping_hash}))
    else:
        sfn.send_task_failure(taskToken=token, error="MigrationRejected",
                              cause=(body.reason or "rejected by a person")[:256])
    logger.info("approval decided", extra={"migration_id": migration_id, "approved": body.approved})
    return {"migration_id": migration_id, "approved": body.approved, "mapping_hash": mapping_hash}


@app.post("/migrations/<migration_id>/rollback")
@tracer.capture_method
def rollback_migration(migration_id: str):
    item = _run(migration_id)
    sfn = aws.client("stepfunctions")
    if _execution_status(item.get("execution_arn"), item) in ("RUNNING", "STARTING"):
        raise ConflictError("the migration is still running: reject it at the approval gate "
                            "(POST …/approve with approved=false) or let it end, then roll back")
    if _execution_status(item.get("rollback_execution_arn"), item) in ("RUNNING", "STARTING"):
        raise ConflictError("a rollback is already running; one at a time per migration")
    # one rollback at a time: a conditional write on the rollback count, and a deterministic execution name
    number = int(item.get("rollbacks") or 0) + 1
    name = f"{migration_id}_rb{number}"
    run_id = "rb-" + uuid.uuid4().hex[:9]
    if not aws.runs().begin_rollback(migration_id, number,
                                     _execution_arn(aws.settings().rollback_state_machine_arn, name)):
        raise ConflictError("a rollback is being started by another request; one at a time per migration")
    try:
        started = sfn.start_execution(stateMachineArn=aws.settings().rollback_state_machine_arn, name=name,
                                      input=json.dumps({"migration_id": migration_id, "run_id": run_id}))
    except sfn.exceptions.ExecutionAlreadyExists as exc:
        raise ConflictError(f"a rollback named {name} already exists; one at a time per migration") from exc
    aws.runs().update(migration_id, rollback_execution_arn=started["executionArn"], status="rollback_started")
    return Response(202, content_types.APPLICATION_JSON,
                    json.dumps({"migration_id": migration_id, "run_id": run_id, "status": "rollback_started",
                                "execution_name": name}))


def _execution_status(arn: Optional[str], item: dict[str, Any]) -> Optional[str]:
    """An execution's status; STARTING when it is recorded but not yet in Step Functions (recently)."""
    if not arn:
        return None
    sfn = aws.client("stepfunctions")
    try:
        return sfn.describe_execution(executionArn=arn)["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        recent = time.time() - float(item.get("updated_at") or 0) < START_GRACE_SECONDS
        return "STARTING" if recent and item.get("status") != "start_failed" else None


def _run(migration_id: str) -> dict[str, Any]:
    if not re.match(MIGRATION_ID, migration_id or ""):
        raise NotFoundError(f"no migration {migration_id[:80]!r}: ids are 3-63 of a-z, 0-9 and '-'")
    try:
        return aws.runs().get(migration_id)
    except aws.RunNotFound as exc:
        raise NotFoundError(f"no migration {migration_id}") from exc


@app.exception_handler(ConflictError)
def _conflict(exc: ConflictError) -> Response:
    return Response(409, content_types.APPLICATION_JSON, json.dumps({"message": str(exc), "locked": exc.locked}))


def _plain_response(status: int, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": message}), "isBase64Encoded": False}


def check_body(event: dict[str, Any]) -> Optional[dict[str, Any]]:
    """A 413 or 400 answer for a body that is too large or not JSON; None when the body may go on.

    Runs before routing, so no handler (and nothing that reads a secret) sees such a body.
    """
    body = event.get("body")
    if body is None or body == "":
        return None
    if not isinstance(body, str):
        return _plain_response(400, "the body must be JSON text")
    if len(body) > 4 * MAX_BODY_BYTES:  # cheap bound before decoding
        return _plain_response(413, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return _plain_response(400, "the body is not valid base64/UTF-8 text")
    if len(raw) > MAX_BODY_BYTES:
        return _plain_response(413, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
    try:
        json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _plain_response(400, "the body is not UTF-8 text")
    except json.JSONDecodeError as exc:  # position only: the text may hold anything
        return _plain_response(400, f"the body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except RecursionError:
        return _plain_response(400, "the body is nested too deeply")
    return None


@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    refused = check_body(event) if isinstance(event, dict) else _plain_response(400, "not an API Gateway event")
    if refused:
        logger.warning("request refused", extra={"status": refused["statusCode"]})
        return refused
    return app.resolve(event, context)
