"""Reconcile one load phase (hdm.pipeline.steps.reconcile_phase). A null child output of the phase's
Distributed Map (a failed chunk under moto, which ignores failure tolerance) fails the phase. A phase held back
(a phase it depends on stopped over its rejected share) is reported as not loaded; the answer lists every phase
held back so far, which the workflow skips."""

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
    aws.raise_if_quota_stopped(ctx)  # a spent allowance: the workflow records a resumable stop
    report = steps.reconcile_phase(ctx, phase, event.get("chunk_results"))
    aws.runs().record_progress(ctx.migration_id, f"phase:{phase}", report)
    metrics.add_dimension(name="phase", value=phase)
    metrics.add_metric(name="RecordsLoaded", unit=MetricUnit.Count, value=int(report.get("loaded", 0)))
    metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=int(report.get("rejected", 0)))
    out = {k: report[k] for k in ("phase", "source", "loaded", "rejected", "skipped", "held", "ok") if k in report}
    # the phases not to load in this run (dependants of a phase that stopped over its rejected share)
    out["held_back_phases"] = steps.held_back_phases(ctx)
    return out
