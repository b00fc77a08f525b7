"""Discover: inventory the source, plan its chunks, write the extract manifest (hdm.pipeline.steps.discover)."""

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
    delta = aws.runs().get(ctx.migration_id).get("delta_run_id") == ctx.run_id  # POST /migrations?delta=true
    result = aws.with_s3_location(ctx, steps.discover(ctx, delta=delta))
    aws.runs().record_progress(ctx.migration_id, "discover", {"chunks": result["chunks"]}, status="extracting")
    logger.info("discovered", extra={"chunks": result["chunks"], "version": result.get("version")})
    return result
