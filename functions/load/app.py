"""Load one chunk of one phase into the destination, idempotently (hdm.pipeline.steps.load_chunk)."""

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
    return aws.run_chunk_step(aws.load_chunk_step, event, logger, metrics)
