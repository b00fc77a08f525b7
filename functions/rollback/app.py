"""Roll back one load phase: delete only what this migration created (hdm.pipeline.steps.rollback_phase)."""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from hdm.engines import aws
from hdm.pipeline import steps

logger = aws.logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@aws.masked_errors
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    ctx = aws.context_for(event)
    phase = str(event["phase"])
    logger.append_keys(migration_id=ctx.migration_id, run_id=ctx.run_id, phase=phase)
    result = steps.rollback_phase(ctx, phase)
    metrics.add_metric(name="RecordsRolledBack", unit=MetricUnit.Count, value=int(result.get("rolled_back", 0)))
    return result
