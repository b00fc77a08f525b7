"""Record why a workflow failed: reports/failure.json in the stage and the run's status, before the Fail state."""

import json

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from hdm.crosswalk.base import now_iso
from hdm.engines import aws

logger = aws.logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@aws.masked_errors
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration_id, workflow = str(event["migration_id"]), str(event.get("workflow", "migration"))
    error = event.get("error") or {}
    cause = error.get("Cause") or ""
    try:  # a Lambda error's Cause is the runtime's JSON error body
        parsed = json.loads(cause)
        cause = parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause
    except ValueError:
        pass
    failure = {"workflow": workflow, "run_id": event.get("run_id"), "error": error.get("Error", "Unknown"),
               "cause": aws.mask_pii(str(cause))[:4000], "at": now_iso()}
    aws.stage_for(migration_id).put_json(f"reports/failure-{workflow}.json", failure)
    # a spent allowance (QuotaExhausted) is a stop, not a failure: starting the migration again resumes it
    status = "stopped" if failure["error"] == "QuotaExhausted" else f"{workflow}_failed"
    aws.runs().update(migration_id, status=status, failure=failure)
    metrics.add_metric(name=f"{workflow.capitalize()}Failed", unit=MetricUnit.Count, value=1)
    logger.error("workflow failed", extra={"migration_id": migration_id, "error": failure["error"]})
    return {"recorded": True, "error": failure["error"]}
