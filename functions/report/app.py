"""The final reconciliation report of the run (hdm.pipeline.steps.final_report)."""

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
    report = steps.final_report(ctx)
    summary = {k: v for k, v in (report or {}).items() if isinstance(v, (int, float, str, bool))}
    summary["attention"] = (report or {}).get("attention") or {}  # with outcome and exit_status: the verdict
    stop = (report or {}).get("stopped")
    if stop:  # a phase passed reject_threshold: the workflow records the failure next (resumable once fixed)
        summary["stopped"] = str(stop.get("message") or "a load phase passed reject_threshold")
    aws.runs().record_progress(ctx.migration_id, "report", summary, status=None if stop else "succeeded")
    return summary
