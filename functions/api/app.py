"""The trigger API (API Gateway REST, IAM auth): start a migration, watch it, approve it, roll it back.

POST /migrations                      start (returns the id at once; the same id and config again is a no-op)
GET  /migrations/{migration_id}         state, phase progress and counts
POST /migrations/{migration_id}/approve release (or reject) the approval gate
POST /migrations/{migration_id}/rollback start the rollback workflow
"""

import json
import uuid
from typing import Any, Optional

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext
from hdm.engines import aws
from hdm.pipeline.config import MigrationConfig
from pydantic import BaseModel, Field, ValidationError

logger = aws.logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)

SECRET_FIELDS = ("password", "security_token", "consumer_secret")


class ApprovalBody(BaseModel):
    approved: bool = True
    reason: Optional[str] = Field(None, max_length=2000)


class ConflictError(Exception):
    pass


def _caller() -> str:
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


def _check_secret_arns(config: MigrationConfig) -> None:
    """In AWS, credentials are Secrets Manager ARNs under this stack's prefix, never values or local refs."""
    prefix = aws.settings().secrets_prefix
    for side in ("source", "destination"):
        section = getattr(config, side)
        for name in SECRET_FIELDS:
            ref = getattr(section, name, None)
            if ref is None:
                continue
            if not ref.startswith("arn:"):
                raise BadRequestError(f"{side}.{name} must be a Secrets Manager ARN")
            secret_name = ref.split(":secret:", 1)[-1]
            if prefix and not secret_name.startswith(prefix):
                raise BadRequestError(f"{side}.{name} must name a secret under {prefix}")


@app.post("/migrations")
@tracer.capture_method
def start_migration():
    body = app.current_event.json_body
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object (a migration config)")
    try:
        config = MigrationConfig.model_validate(body)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return Response(422, content_types.APPLICATION_JSON, json.dumps({"message": "invalid config",
                                                                         "errors": errors}))
    _check_secret_arns(config)
    migration_id = config.migration_id
    settings = aws.settings()
    runs = aws.runs()
    config_json = config.to_json()
    run_id = uuid.uuid4().hex[:12]
    execution_arn = _execution_arn(settings.migration_state_machine_arn, migration_id)
    if runs.create(migration_id, run_id, config_json, execution_arn):
        return _start_execution(migration_id, run_id, migration_id, config.require_approval, resumed=False)
    existing = runs.get(migration_id)
    if json.loads(existing["config"]) != json.loads(json.dumps(config_json, sort_keys=True)):
        raise ConflictError(f"migration {migration_id} exists with a different config")
    sfn = aws.client("stepfunctions")
    try:
        previous = sfn.describe_execution(executionArn=existing["execution_arn"])["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        previous = "FAILED"  # the first start never reached Step Functions: start it now
    if previous not in RESUMABLE or existing.get("status", "").startswith("roll"):
        return Response(200, content_types.APPLICATION_JSON,
                        json.dumps({"migration_id": migration_id, "status": existing["status"], "created": False}))
    # the last run failed: run again under a new execution; every step skips or repeats its work idempotently
    name = f"{migration_id}-{run_id}"
    if not runs.begin_retry(migration_id, existing["run_id"], run_id,
                            _execution_arn(settings.migration_state_machine_arn, name)):
        raise ConflictError(f"migration {migration_id} is being resumed by another request")
    approved_before = existing.get("approved") is True
    return _start_execution(migration_id, run_id, name, config.require_approval and not approved_before,
                            resumed=True)


RESUMABLE = {"FAILED", "TIMED_OUT", "ABORTED"}


def _execution_arn(state_machine_arn: Optional[str], name: str) -> str:
    return (state_machine_arn or "").replace(":stateMachine:", ":execution:") + f":{name}"


def _start_execution(migration_id: str, run_id: str, name: str, require_approval: bool, resumed: bool) -> Response:
    runs = aws.runs()
    sfn = aws.client("stepfunctions")
    execution_input = {"migration_id": migration_id, "run_id": run_id, "require_approval": require_approval}
    try:
        started = sfn.start_execution(stateMachineArn=aws.settings().migration_state_machine_arn, name=name,
                                      input=json.dumps(execution_input))
    except sfn.exceptions.ExecutionAlreadyExists as exc:
        runs.update(migration_id, status="start_failed")
        raise ConflictError(f"an execution named {name} already exists") from exc
    runs.update(migration_id, execution_arn=started["executionArn"])
    logger.info("migration started", extra={"migration_id": migration_id, "run_id": run_id, "resumed": resumed})
    return Response(202, content_types.APPLICATION_JSON,
                    json.dumps({"migration_id": migration_id, "run_id": run_id, "status": "running",
                                "created": not resumed, "resumed": resumed}))


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
    _run(migration_id)
    by = _caller()
    try:
        token = aws.runs().take_approval_token(migration_id, "approved" if body.approved else "rejected", by)
    except LookupError as exc:
        raise ConflictError(str(exc)) from exc
    sfn = aws.client("stepfunctions")
    if body.approved:
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True, "by": by}))
    else:
        sfn.send_task_failure(taskToken=token, error="MigrationRejected",
                              cause=(body.reason or "rejected by a person")[:256])
    logger.info("approval decided", extra={"migration_id": migration_id, "approved": body.approved})
    return {"migration_id": migration_id, "approved": body.approved}


@app.post("/migrations/<migration_id>/rollback")
@tracer.capture_method
def rollback_migration(migration_id: str):
    item = _run(migration_id)
    sfn = aws.client("stepfunctions")
    if item.get("execution_arn"):
        status = sfn.describe_execution(executionArn=item["execution_arn"])["status"]
        if status == "RUNNING":
            raise ConflictError("the migration is still running: reject it at the approval gate "
                                "(POST …/approve with approved=false) or let it end, then roll back")
    if item.get("rollback_execution_arn"):
        previous = sfn.describe_execution(executionArn=item["rollback_execution_arn"])["status"]
        if previous == "RUNNING":
            raise ConflictError("a rollback is already running")
    run_id = "rb-" + uuid.uuid4().hex[:9]
    started = sfn.start_execution(stateMachineArn=aws.settings().rollback_state_machine_arn,
                                  name=f"{migration_id}-{run_id}",
                                  input=json.dumps({"migration_id": migration_id, "run_id": run_id}))
    aws.runs().update(migration_id, rollback_execution_arn=started["executionArn"], status="rollback_started")
    return Response(202, content_types.APPLICATION_JSON,
                    json.dumps({"migration_id": migration_id, "run_id": run_id, "status": "rollback_started"}))


def _run(migration_id: str) -> dict[str, Any]:
    try:
        return aws.runs().get(migration_id)
    except aws.RunNotFound as exc:
        raise NotFoundError(f"no migration {migration_id}") from exc


@app.exception_handler(ConflictError)
def _conflict(exc: ConflictError) -> Response:
    return Response(409, content_types.APPLICATION_JSON, json.dumps({"message": str(exc)}))


@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
