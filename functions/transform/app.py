"""Transform one extracted chunk into rows per load phase (hdm.pipeline.steps.transform_chunk)."""

from aws_lambda_powertools import Metrics, Tracer
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
    logger.append_keys(migration_id=ctx.migration_id, run_id=ctx.run_id)
    result = steps.transform_chunk(ctx, event["item"])
    aws.add_chunk_metrics(metrics, result)
    logger.info("chunk done", extra={"chunk_id": result.get("chunk_id"), "counts": result.get("counts")})
    return result
