"""The approval gate (invoked with .waitForTaskToken): park the task token in the runs table, keyed by the
migration id, until POST /migrations/{id}/approve resumes the workflow."""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from hdm.engines import aws

logger = aws.logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@aws.masked_errors
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration_id = str(event["migration_id"])
    phases = (event.get("load") or {}).get("phases") or []
    summary = {"phases": [{"name": p.get("name"), "chunks": p.get("chunks")} for p in phases],
               "mapping_hash": (event.get("load") or {}).get("mapping_hash")}  # the mapping being approved
    aws.runs().park_approval(migration_id, event["task_token"], summary)
    logger.info("waiting for approval", extra={"migration_id": migration_id})
    return {"parked": True}
