"""Turning an exception into one clear line and an exit status (:mod:`hdm.exitcodes`) for the CLI.

Connector failures are classified by the generic classes of :mod:`hdm.connector_errors` (quota → exit 12,
transient → 7, source → 3, destination → 4) and by the ``classify_error`` hook a connector declares in the registry
(:data:`hdm.registry.CLASSIFY_ERROR`), never by a connector's module or class names.

Every line is scrubbed: secret values this process resolved become ``***`` and e-mail addresses are
masked (error texts from servers can quote record values). Nothing here prints a traceback.
"""

from __future__ import annotations

import re
from typing import Literal, Optional
from urllib.parse import urlsplit

from hdm import connector_errors, exitcodes, registry
from hdm.connector_errors import chain
from hdm.logging import mask_pii
from hdm.pipeline.secrets import redact
from hdm.registry import UnknownConnector

Side = Literal["local", "aws"]
MAX_LINE = 400


def one_line(text: str) -> str:
    """Secrets redacted, e-mails masked, whitespace collapsed, length bounded."""
    text = " ".join(redact(str(text)).split())
    text = mask_pii(text)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


_STATUS_OF_KIND = {"source": exitcodes.SOURCE, "destination": exitcodes.DESTINATION}


def _connector_line(e: BaseException) -> Optional[tuple[int, str]]:
    """Ask every registered connector's ``classify_error`` hook whether ``e`` is its own: (status by the
    connector's kind, "<kind>: <its line>"), or None. A hook that fails is skipped (it must not hide the error)."""
    for kind in registry.KINDS:
        try:
            found = registry.connectors(kind)
        except Exception:  # noqa: BLE001 - the registry itself failing must not hide the error being reported
            continue
        for _, connector in sorted(found.items()):
            hook = connector.capability(registry.CLASSIFY_ERROR)
            if hook is None:
                continue
            try:
                line = hook(e)
            except Exception:  # noqa: BLE001 - a broken hook must not hide the error being reported
                continue
            if line:
                return _STATUS_OF_KIND[kind], f"{kind}: {line}"
    return None


def _module(exc: BaseException) -> str:
    return type(exc).__module__ or ""


def _network_reason(exc: BaseException) -> str:
    text = " ".join(str(e) for e in chain(exc))
    for needle, reason in (("Connection refused", "connection refused"),
                           ("Name or service not known", "unknown host"),
                           ("nodename nor servname", "unknown host"),
                           ("Temporary failure in name resolution", "unknown host"),
                           ("timed out", "timed out"), ("CERTIFICATE_VERIFY_FAILED", "certificate not trusted"),
                           ("No route to host", "no route to host"), ("Network is unreachable", "network unreachable")):
        if needle in text:
            return reason
    return type(exc).__name__


def _request_target(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or ""
    if not url:
        m = re.search(r"host='([^']+)', port=(\d+)", str(exc))
        return f"{m.group(1)}:{m.group(2)}" if m else "the server"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def classify(exc: BaseException, side: Side = "local") -> tuple[int, str]:
    """(exit status, one line) for an exception raised by a command; ``side`` says whether HTTP errors come
    from the destination (local engine) or from the trigger API (``--engine aws``)."""
    code, line = _classify(exc, side)
    return code, one_line(line)


def _classify(exc: BaseException, side: Side) -> tuple[int, str]:  # noqa: C901 - one flat table of cases
    from hdm.pipeline.config import ConfigError

    for e in chain(exc):
        name, module = type(e).__name__, _module(e)
        if name == "MigrationLocked":
            return exitcodes.LOCKED, str(e)
        if isinstance(e, ConfigError):
            return exitcodes.CONFIG, str(e)
        if name == "ValidationError" and module.startswith("pydantic"):
            from hdm.pipeline.config import describe_validation_error

            return exitcodes.CONFIG, "invalid config: " + "; ".join(describe_validation_error(e))
        if name == "SecretError":
            return exitcodes.CONFIG, f"secret reference: {e}"
        if name == "TriggerApiError":
            body = getattr(e, "body", None)
            message = body.get("message") if isinstance(body, dict) else body
            status = getattr(e, "status", "?")
            if isinstance(body, dict) and body.get("locked"):
                return exitcodes.LOCKED, f"trigger API answered {status}: {message}"
            return exitcodes.AWS, f"trigger API answered {status}: {message}"
        if name == "GetParameterError" and module.startswith("aws_lambda_powertools"):
            return exitcodes.AWS, f"AWS: cannot read a secret: {e}"  # a Secrets Manager ARN that cannot be read
        if module.startswith(("botocore", "boto3")) or name == "AwsEngineError":
            return exitcodes.AWS, _aws_line(e)
        if isinstance(e, connector_errors.QuotaExhausted):
            return exitcodes.DAILY_LIMIT, f"stopped on a quota: {e} (run the same command later to continue)"
        if isinstance(e, connector_errors.Transient):
            return exitcodes.TRANSIENT, (f"temporary failure, retries ran out: {e} (try again later: run the same "
                                         "command again; finished chunks are not redone)")
        if isinstance(e, connector_errors.SourceFailure):
            return exitcodes.SOURCE, f"source: {e}"
        if isinstance(e, (connector_errors.DestinationFailure, connector_errors.SchemaNotReady)):
            return exitcodes.DESTINATION, f"destination: {e}"
        if isinstance(e, UnknownConnector):
            return exitcodes.CONFIG, str(e)
        claimed = _connector_line(e)
        if claimed is not None:
            return claimed
        if module.startswith(("requests", "urllib3")):
            target = _request_target(e)
            if name in ("MissingSchema", "InvalidSchema", "InvalidURL", "LocationParseError"):
                what = "the trigger API URL" if side == "aws" else "the destination URL"
                return (exitcodes.AWS if side == "aws" else exitcodes.DESTINATION), f"{what} is not a URL: {e}"
            if side == "aws":
                return exitcodes.AWS, f"cannot reach the trigger API at {target} ({_network_reason(e)})"
            return exitcodes.DESTINATION, f"destination: cannot reach {target} ({_network_reason(e)})"
    first = chain(exc)[0]
    if isinstance(first, OSError) and not isinstance(first, (ConnectionError, TimeoutError)):
        where = f" {first.filename}" if getattr(first, "filename", None) else ""
        return exitcodes.CONFIG, f"file{where}: {first.strerror or first}"
    return exitcodes.INTERNAL, f"unexpected error {type(first).__name__}: {first} (run with -v for the traceback)"


def _aws_line(e: BaseException) -> str:
    name = type(e).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return ("AWS: no usable credentials (configure a profile with AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY): {e}")
    if name == "NoRegionError":
        return "AWS: no region (set AWS_REGION or a profile's region)"
    response = getattr(e, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        op = getattr(e, "operation_name", "call")
        return f"AWS: {op} refused: {err.get('Code')}: {err.get('Message', '')}"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"AWS: cannot reach the endpoint: {e}"
    return f"AWS: {e}"
