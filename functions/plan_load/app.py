"""Plan the load: check every extract/transform chunk came back, then write one manifest per load phase
(hdm.pipeline.steps.plan_load)."""

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
    extracted = aws.require_all_chunks("extract", event.get("extracted"))
    transformed = aws.require_all_chunks("transform", event.get("transformed"))
    plan = steps.plan_load(ctx)
    phases = [aws.with_s3_location(ctx, p) for p in plan["phases"]]
    summary = {"extracted_chunks": extracted, "transformed_chunks": transformed,
               "phases": [{"name": p["name"], "chunks": p["chunks"]} for p in phases],
               "mapping_hash": plan.get("mapping_hash")}
    aws.runs().record_progress(ctx.migration_id, "plan_load", summary, status="planned")
    return {"phases": phases, "mapping_hash": plan.get("mapping_hash")}
