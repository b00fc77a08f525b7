"""Rollback bookends: ``action=plan`` lists the loaded phases newest first; ``action=report`` compares the
destination with the baseline taken before the first write and records the outcome."""

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
    ctx = aws.context_for(event)
    logger.append_keys(migration_id=ctx.migration_id, run_id=ctx.run_id)
    action = event.get("action")
    if action == "plan":
        aws.runs().update(ctx.migration_id, status="rolling_back")
        return aws.rollback_plan(ctx)
    if action == "report":
        result = aws.rollback_report(ctx, event.get("phases") or [])
        aws.runs().record_progress(ctx.migration_id, "rollback", result,
                                   status="rolled_back" if result["restored"] else "rollback_incomplete")
        return result
    raise ValueError(f"unknown rollback action: {action!r}")
