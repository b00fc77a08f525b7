"""The AWS engine: Step Functions runs the steps of :mod:`hdm.pipeline.steps` as Lambda tasks.

Two sides live here:

- **Inside Lambda** (``functions/<name>/app.py``): :func:`context_for` builds a pipeline
  :class:`~hdm.pipeline.steps.Context` from the function's environment (stage bucket, tables, KMS key)
  and the run's config stored in the runs table; source and destination credentials are Secrets
  Manager ARNs resolved by :mod:`hdm.pipeline.secrets` (Powertools Parameters, cached). Clients and
  contexts are built once per container (lazily) and reused by warm invocations.
  :class:`RunsTable` keeps each migration's state, progress and the approval gate's task token.
- **On the operator's machine** (``hdm … --engine aws``): :class:`TriggerApiClient` calls the
  deployed trigger API with SigV4-signed requests (start, status, approve, rollback).
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional

from hdm.connector_errors import TRANSIENT_ERROR_NAME, QuotaExhausted, is_quota_exhausted, is_transient
from hdm.crosswalk.base import now_iso
from hdm.crosswalk.dynamodb import DynamoDBCrosswalk
from hdm.pipeline import steps
from hdm.pipeline.config import MigrationConfig
from hdm.pipeline.secrets import redact
from hdm.stage.s3 import S3Stage

RUNS_TTL_DAYS = 400  # a run's record outlives its staged data: rollback needs the config for months


class RunNotFound(LookupError):
    """No migration with this id in the runs table."""


class ChunkFailed(RuntimeError):
    """A fan-out child ended without a result (moto does not enforce the Map's failure tolerance)."""


# -- settings and clients (built once per container) ------------------------------------------------

@dataclass(frozen=True)
class AwsSettings:
    stage_bucket: str
    crosswalk_table: str
    runs_table: str
    stage_kms_key_id: Optional[str] = None
    secrets_prefix: Optional[str] = None
    migration_state_machine_arn: Optional[str] = None
    rollback_state_machine_arn: Optional[str] = None

    @classmethod
    def from_env(cls, env: Optional[dict[str, str]] = None) -> AwsSettings:
        env = dict(os.environ if env is None else env)
        missing = [n for n in ("HDM_STAGE_BUCKET", "HDM_CROSSWALK_TABLE", "HDM_RUNS_TABLE") if not env.get(n)]
        if missing:
            raise RuntimeError(f"the function's environment lacks {', '.join(missing)} (see template.yaml Globals)")
        return cls(
            stage_bucket=env["HDM_STAGE_BUCKET"],
            crosswalk_table=env["HDM_CROSSWALK_TABLE"],
            runs_table=env["HDM_RUNS_TABLE"],
            stage_kms_key_id=env.get("HDM_STAGE_KMS_KEY_ID") or None,
            secrets_prefix=env.get("HDM_SECRETS_PREFIX") or None,
            migration_state_machine_arn=env.get("HDM_MIGRATION_STATE_MACHINE_ARN") or None,
            rollback_state_machine_arn=env.get("HDM_ROLLBACK_STATE_MACHINE_ARN") or None,
        )


@functools.cache
def settings() -> AwsSettings:
    return AwsSettings.from_env()


@functools.cache
def client(service: str) -> Any:
    import boto3

    return boto3.client(service)


@functools.cache
def dynamodb_resource() -> Any:
    import boto3

    return boto3.resource("dynamodb")


def stage_prefix(migration_id: str) -> str:
    return f"migrations/{migration_id}"


def stage_for(migration_id: str) -> S3Stage:
    s = settings()
    return S3Stage(s.stage_bucket, prefix=stage_prefix(migration_id), client=client("s3"),
                   kms_key_id=s.stage_kms_key_id)


@functools.cache
def crosswalk() -> DynamoDBCrosswalk:
    return DynamoDBCrosswalk(settings().crosswalk_table, resource=dynamodb_resource())


@functools.cache
def runs() -> RunsTable:
    return RunsTable(settings().runs_table, resource=dynamodb_resource())


def reset_caches() -> None:
    """Forget clients, settings and contexts (tests that start a fresh mocked account)."""
    for cached in (settings, client, dynamodb_resource, crosswalk, runs, _context):
        cached.cache_clear()


# -- the runs table -------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; make them JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(v) for v in value]
    return value


def _dynamo(value: Any) -> Any:
    """JSON → DynamoDB (floats become Decimal)."""
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


class RunsTable:
    """One item per migration: config (secret references only), status, progress, approval token."""

    def __init__(self, table_name: str, resource: Any):
        self.table = resource.Table(table_name)

    def create(self, migration_id: str, run_id: str, config: dict[str, Any], execution_arn: str) -> bool:
        """Record a new migration; False when one with this id already exists."""
        from botocore.exceptions import ClientError

        now = time.time()
        try:
            self.table.put_item(
                Item=_dynamo({
                    "migration_id": migration_id, "run_id": run_id, "status": "running",
                    "config": json.dumps(config, sort_keys=True), "execution_arn": execution_arn,
                    "progress": {}, "created_at": int(now), "updated_at": int(now),
                    "expires_at": int(now + RUNS_TTL_DAYS * 86400),
                }),
                ConditionExpression="attribute_not_exists(migration_id)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def begin_retry(self, migration_id: str, old_run_id: str, run_id: str, execution_arn: str,
                    attempt: Optional[int] = None, delta: bool = False) -> bool:
        """Switch the migration to a new run after a failed one; False when another request did first
        (the condition on the old run id makes this the lock between two resuming requests)."""
        from botocore.exceptions import ClientError

        values: dict[str, Any] = {":new": run_id, ":old": old_run_id, ":arn": execution_arn,
                                  ":running": "running", ":u": int(time.time()), ":delta": run_id if delta else ""}
        if attempt is None:
            values[":one"] = 1
            attempts = "attempts = if_not_exists(attempts, :one) + :one"
        else:
            values[":attempt"] = attempt
            attempts = "attempts = :attempt"
        try:
            self.table.update_item(
                Key={"migration_id": migration_id},
                UpdateExpression=f"SET run_id = :new, execution_arn = :arn, #s = :running, #u = :u, {attempts}, "
                                 "delta_run_id = :delta "
                                 "REMOVE failure, task_token",
                ConditionExpression="run_id = :old",
                ExpressionAttributeNames={"#s": "status", "#u": "updated_at"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_start_failed(self, migration_id: str, run_id: str) -> None:
        """The run ``run_id`` never reached Step Functions: the next start may begin it at once."""
        from botocore.exceptions import ClientError

        try:
            self.table.update_item(
                Key={"migration_id": migration_id}, UpdateExpression="SET #s = :failed, #u = :u",
                ConditionExpression="run_id = :run", ExpressionAttributeNames={"#s": "status", "#u": "updated_at"},
                ExpressionAttributeValues={":failed": "start_failed", ":run": run_id, ":u": int(time.time())},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def begin_rollback(self, migration_id: str, number: int, execution_arn: str) -> bool:
        """Claim rollback number ``number`` (the previous one plus one); False when another request did first."""
        from botocore.exceptions import ClientError

        try:
            self.table.update_item(
                Key={"migration_id": migration_id},
                UpdateExpression="SET rollbacks = :n, rollback_execution_arn = :arn, #u = :u",
                ConditionExpression="attribute_exists(migration_id) AND "
                                    "(attribute_not_exists(rollbacks) OR rollbacks = :prev)",
                ExpressionAttributeNames={"#u": "updated_at"},
                ExpressionAttributeValues={":n": number, ":prev": number - 1, ":arn": execution_arn,
                                           ":u": int(time.time())},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, migration_id: str) -> dict[str, Any]:
        item = self.table.get_item(Key={"migration_id": migration_id}, ConsistentRead=True).get("Item")
        if not item:
            raise RunNotFound(migration_id)
        return _plain(item)

    def config(self, migration_id: str) -> MigrationConfig:
        return MigrationConfig.model_validate(json.loads(self.get(migration_id)["config"]))

    def update(self, migration_id: str, remove: tuple[str, ...] = (), **values: Any) -> None:
        names = {f"#k{i}": k for i, k in enumerate(values)}
        sets = [f"#k{i} = :v{i}" for i in range(len(values))]
        expr_values = {f":v{i}": _dynamo(v) for i, v in enumerate(values.values())}
        for j, attr in enumerate(remove):
            names[f"#r{j}"] = attr
        expression = "SET " + ", ".join(sets + ["#u = :u"])
        names["#u"], expr_values[":u"] = "updated_at", int(time.time())
        if remove:
            expression += " REMOVE " + ", ".join(f"#r{j}" for j in range(len(remove)))
        self.table.update_item(
            Key={"migration_id": migration_id}, UpdateExpression=expression,
            ExpressionAttributeNames=names, ExpressionAttributeValues=expr_values,
            ConditionExpression="attribute_exists(migration_id)",
        )

    def record_progress(self, migration_id: str, step: str, summary: dict[str, Any],
                        status: Optional[str] = None) -> None:
        """Keep a step's small summary (counts) under ``progress.<step>``."""
        names = {"#p": "progress", "#s": step, "#u": "updated_at"}
        values: dict[str, Any] = {":v": _dynamo(summary), ":u": int(time.time())}
        expression = "SET #p.#s = :v, #u = :u"
        if status:
            names["#st"], values[":st"] = "status", status
            expression += ", #st = :st"
        self.table.update_item(Key={"migration_id": migration_id}, UpdateExpression=expression,
                               ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                               ConditionExpression="attribute_exists(migration_id)")

    def park_approval(self, migration_id: str, task_token: str, summary: dict[str, Any]) -> None:
        self.update(migration_id, status="awaiting_approval", task_token=task_token, approval_request=summary)

    def take_approval_token(self, migration_id: str, status: str, by: str) -> str:
        """The parked token, removed atomically (a second approval gets a conflict, not a second resume)."""
        from botocore.exceptions import ClientError

        try:
            old = self.table.update_item(
                Key={"migration_id": migration_id},
                UpdateExpression="SET #s = :s, approved_by = :by, approved = :ok, #u = :u REMOVE task_token",
                ConditionExpression="attribute_exists(task_token) AND #s = :waiting",
                ExpressionAttributeNames={"#s": "status", "#u": "updated_at"},
                ExpressionAttributeValues={":s": status, ":by": by, ":u": int(time.time()),
                                           ":ok": status == "approved", ":waiting": "awaiting_approval"},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise LookupError("the migration is not waiting for approval") from exc
            raise
        return old["Attributes"]["task_token"]


# -- contexts inside Lambda -------------------------------------------------------------------------

def _build_source(cfg: Any) -> Any:
    from hdm.engines.factories import build_source

    return build_source(cfg)


def _build_destination(cfg: Any, stage: Any, migration_id: str, source_type: str) -> Any:
    from hdm.engines.factories import build_destination

    return build_destination(cfg, stage, migration_id, source_type)


class _PerThread:
    """A factory that builds its object on first use per thread and keeps it.

    A Lambda container runs one invocation at a time, so this is one source connection and one
    destination session per warm container; in-process test dispatch runs several at once on threads,
    and database connections must not be shared between them.
    """

    def __init__(self, make: Any):
        self._make = make
        self._local = threading.local()

    def __call__(self) -> Any:
        obj = getattr(self._local, "obj", None)
        if obj is None:
            obj = self._local.obj = self._make()
        return obj


@functools.lru_cache(maxsize=4)
def _context(migration_id: str, run_id: str) -> steps.Context:
    config = runs().config(migration_id)
    stage = stage_for(migration_id)
    return steps.Context(
        migration_id=migration_id, run_id=run_id, config=config, stage=stage, crosswalk=crosswalk(),
        source=_PerThread(lambda: _build_source(config.source)),
        destination=_PerThread(lambda: _build_destination(config.destination, stage, migration_id,
                                                                  config.source.type)),
    )


def context_for(event: dict[str, Any]) -> steps.Context:
    """The pipeline context of a task event ``{"migration_id", "run_id", …}`` (cached per container)."""
    try:
        migration_id, run_id = str(event["migration_id"]), str(event["run_id"])
    except (KeyError, TypeError) as exc:
        raise ValueError("task event needs migration_id and run_id") from exc
    if not _TASK_ID.match(migration_id) or not _TASK_ID.match(run_id):
        raise ValueError("task event's migration_id and run_id must be short ids (a-z, 0-9, '-')")
    return _context(migration_id, run_id)


_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def with_s3_location(ctx: steps.Context, result: dict[str, Any], key_field: str = "manifest_key") -> dict[str, Any]:
    """Add the bucket and object key of a stage key, for a Distributed Map's S3 ItemReader."""
    stage = ctx.stage
    assert isinstance(stage, S3Stage)
    return {**result, "manifest_bucket": stage.bucket, "manifest_object_key": stage.object_key(result[key_field])}


def require_all_chunks(label: str, results: Optional[list[Any]]) -> int:
    """Fail when a fan-out child returned nothing: every chunk must be accounted for."""
    results = results or []
    missing = [i for i, r in enumerate(results) if not r]
    if missing:
        raise ChunkFailed(f"{label}: {len(missing)} of {len(results)} chunk(s) failed (items {missing[:20]})")
    return len(results)


def rollback_plan(ctx: steps.Context) -> dict[str, Any]:
    """The load phases, newest first (the order rollback deletes in).

    From the run's load plan in the stage; once staged data has expired (the bucket's lifecycle rule),
    from the destination's own dependency order: a phase without crosswalk entries rolls back nothing.
    """
    names, source = steps.rollback_order(ctx)
    return {"phases": names, "from": source}


def record_baseline(ctx: steps.Context) -> None:
    """Keep the pre-migration baseline in the runs table too: it outlives the staged data."""
    if ctx.stage.exists("reports/baseline.json"):
        runs().update(ctx.migration_id, baseline=ctx.stage.get_json("reports/baseline.json"))


def rollback_report(ctx: steps.Context, phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Prove every record this migration created is gone, by id and by legacy id, as the local engine does
    (hdm.pipeline.steps.rollback_verdict); the baseline counts stay in reports/rollback.json as information."""
    result = steps.rollback_verdict(ctx, phases)
    return {"restored": result["restored"], "nothing_to_roll_back": result["nothing_to_roll_back"],
            "message": result["message"], "phases": len(phases), "rolled_back": result["rolled_back"]}


# -- logging without PII ------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PII_FIELDS = frozenset({"body", "html", "text", "description", "subject", "email", "emails", "phone", "name",
                         "password", "token", "task_token", "secret"})


@functools.cache
def _secret_fields() -> frozenset[str]:
    """Names of the fields typed as secret references (``SecretRef``) in any registered connector's config."""
    try:
        from hdm.pipeline.config import SECRET, field_names_of_kind

        return frozenset(n.lower() for n in field_names_of_kind(SECRET))
    except Exception:  # noqa: BLE001 - masking must never fail a log line; the fixed names still apply
        return frozenset()


def mask_pii(value: Any, field: Optional[str] = None) -> Any:
    """Bodies, names, contact data and tokens become ``***``, and so does every field typed as a secret
    reference in a connector's config; emails inside any string are masked."""
    if field and (field.lower() in _PII_FIELDS or field.lower() in _secret_fields()) and value not in (
            None, "", [], {}):
        return "***"
    if isinstance(value, dict):
        return {k: mask_pii(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_pii(v) for v in value]
    if isinstance(value, str):
        return _EMAIL.sub("***@***", value)
    return value


_MASKED_ERROR_TYPES: dict[str, type] = {}


def masked_errors(handler: Any) -> Any:
    """Re-raise a handler's exception with PII masked out of its message, under the same class name.

    The message becomes the task's ``Cause`` in the execution history and appears in the runtime's and the
    tracer's logs; the class name stays, so the state machine's Retry/Catch still match on it. Every generic
    :class:`~hdm.connector_errors.Transient` (a connector's subclass too) is raised under the error name
    ``"Transient"``, which the chunk states of the ASL retry with backoff.
    """

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        except Exception as exc:
            message = str(exc)
            masked = mask_pii(message)
            # every Transient (a connector's subclass, or one raised from it) under one error name: the ASL retries it
            transient = is_transient(exc) and type(exc).__name__ != TRANSIENT_ERROR_NAME
            if masked == message and not transient:
                raise
            name = TRANSIENT_ERROR_NAME if transient else type(exc).__name__
        # raised outside the except block, so the original (unmasked) exception is not kept as its context
        cls = _MASKED_ERROR_TYPES.setdefault(name, type(name, (RuntimeError,), {"__module__": "hdm.masked"}))
        raise cls(masked)

    return wrapper


def logger(service: Optional[str] = None) -> Any:
    """A Powertools Logger whose every record is masked (see :func:`mask_pii`) before it is written."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class MaskingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: dict[str, Any]) -> str:
            return super().serialize(mask_pii(log))

    return Logger(service=service, logger_formatter=MaskingFormatter())


def run_chunk_step(step: Any, event: dict[str, Any], logger: Any, metrics: Any) -> dict[str, Any]:
    """What every Distributed Map child does: build the context, run one chunk step, record its metrics."""
    ctx = context_for(event)
    logger.append_keys(migration_id=ctx.migration_id, run_id=ctx.run_id)
    result = step(ctx, event["item"])
    add_chunk_metrics(metrics, result)
    logger.info("chunk done", extra={"chunk_id": result.get("chunk_id"), "counts": result.get("counts")})
    return result


QUOTA_STOP_KEY = "reports/quota-stop.json"


def load_chunk_step(ctx: steps.Context, item: dict[str, Any]) -> dict[str, Any]:
    """:func:`hdm.pipeline.steps.load_chunk` as a Distributed Map child. A spent allowance (a generic
    :class:`~hdm.connector_errors.QuotaExhausted` from any connector) does not fail the child: it is recorded for
    the run (:data:`QUOTA_STOP_KEY`), the children after it do not call the destination, and the phase's
    reconciliation then stops the workflow as a resumable stop (:func:`raise_if_quota_stopped`)."""
    phase = str(item["phase"])
    chunk_id = steps.load_chunk_id(phase, item["key"])
    stop = quota_stop(ctx)
    if stop is not None:
        return {"phase": phase, "chunk_id": chunk_id, "quota_exhausted": stop["message"], "not_started": True}
    try:
        return steps.load_chunk(ctx, item)
    except Exception as exc:
        if not is_quota_exhausted(exc):
            raise
        message = mask_pii(redact(f"{type(exc).__name__}: {exc}"))
        ctx.stage.put_json(QUOTA_STOP_KEY, {"run_id": ctx.run_id, "phase": phase, "chunk_id": chunk_id,
                                            "message": message, "at": now_iso()})
        return {"phase": phase, "chunk_id": chunk_id, "quota_exhausted": message}


def quota_stop(ctx: steps.Context) -> Optional[dict[str, Any]]:
    """The quota stop recorded by this run, if any (an earlier run's is ignored: the allowance may be back)."""
    if not ctx.stage.exists(QUOTA_STOP_KEY):
        return None
    stop = ctx.stage.get_json(QUOTA_STOP_KEY)
    return stop if isinstance(stop, dict) and stop.get("run_id") == ctx.run_id else None


def raise_if_quota_stopped(ctx: steps.Context) -> None:
    """Raise the generic QuotaExhausted (the workflow records a resumable stop) when this run hit a quota."""
    stop = quota_stop(ctx)
    if stop is not None:
        raise QuotaExhausted(f"{stop['message']} (phase {stop.get('phase')}) — the run checkpointed; start the "
                             "same migration again when the allocation resets: finished chunks are not redone")


def add_chunk_metrics(metrics: Any, result: dict[str, Any]) -> None:
    """Records migrated / failed / skipped per chunk, from a step's counts."""
    from aws_lambda_powertools.metrics import MetricUnit

    counts = result.get("counts") or {}
    migrated = sum(int(counts.get(k, 0)) for k in ("created", "updated", "unchanged", "matched"))
    failed = int(counts.get("rejected", 0))
    skipped = int(counts.get("skipped", 0)) + int(counts.get("held", 0))
    if counts:
        metrics.add_metric(name="RecordsMigrated", unit=MetricUnit.Count, value=migrated)
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed)
        metrics.add_metric(name="RecordsSkipped", unit=MetricUnit.Count, value=skipped)
    if "records" in result:
        metrics.add_metric(name="RecordsExtracted", unit=MetricUnit.Count, value=int(result["records"]))
    metrics.add_metric(name="ChunksDone", unit=MetricUnit.Count, value=1)


# -- the operator's side: the trigger API over SigV4 --------------------------------------------------

class AwsEngineError(RuntimeError):
    """The operator's side of the AWS engine cannot do its call (no credentials, an answer that is not JSON)."""


class TriggerApiError(AwsEngineError):
    """The trigger API answered 4xx/5xx; ``body`` is its JSON answer (``locked`` is set when another run holds
    the migration)."""

    def __init__(self, status: int, body: Any):
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"trigger API answered {status}: {message}")
        self.status = status
        self.body = body


class TriggerApiClient:
    """``hdm … --engine aws``: start, watch, approve and roll back through the deployed trigger API."""

    def __init__(self, api_url: str, region: Optional[str] = None, session: Any = None, timeout: float = 30.0):
        from urllib.parse import urlsplit

        import boto3
        import requests

        parts = urlsplit(api_url or "")
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise AwsEngineError(f"the trigger API URL {api_url!r} is not an https:// URL (the stack's TriggerApiUrl)")
        self.api_url = api_url.rstrip("/")
        self.boto_session = session or boto3.Session()
        self.region = region or self.boto_session.region_name or "us-east-1"
        self.http = requests.Session()
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = f"{self.api_url}{path}"
        data = json.dumps(body) if body is not None else None
        request = AWSRequest(method=method, url=url, data=data, headers={"content-type": "application/json"})
        credentials = self.boto_session.get_credentials()
        if credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        response = self.http.request(method, url, data=data, headers=dict(request.headers), timeout=self.timeout)
        try:
            payload = response.json() if response.content else None
        except ValueError:
            if response.status_code >= 400:
                raise TriggerApiError(response.status_code, response.text[:200]) from None
            raise AwsEngineError(f"{url} did not answer JSON (HTTP {response.status_code}): is it the stack's "
                                 "TriggerApiUrl?") from None
        if response.status_code >= 400:
            raise TriggerApiError(response.status_code, payload)
        return payload

    def start(self, config: MigrationConfig | dict[str, Any], delta: bool = False) -> dict[str, Any]:
        body = config.to_json() if isinstance(config, MigrationConfig) else config
        return self._call("POST", "/migrations?delta=true" if delta else "/migrations", body)

    def status(self, migration_id: str) -> dict[str, Any]:
        return self._call("GET", f"/migrations/{migration_id}")

    def approve(self, migration_id: str, approved: bool = True, reason: Optional[str] = None) -> dict[str, Any]:
        return self._call("POST", f"/migrations/{migration_id}/approve", {"approved": approved, "reason": reason})

    def rollback(self, migration_id: str) -> dict[str, Any]:
        return self._call("POST", f"/migrations/{migration_id}/rollback", {})

