"""The failures every engine acts on, whatever the connector.

A connector raises (or translates its own errors into) these at its boundary; the engines, the pipeline
steps and the Lambda handlers catch only these, never a connector's class names or error strings.

- :class:`QuotaExhausted`: a daily or monthly allowance is spent. The run checkpoints and stops; the same
  command continues later (exit status :data:`hdm.exitcodes.DAILY_LIMIT`). Never retried now.
- :class:`Transient`: worth trying again later (the connector's own retries ran out). Both engines retry the
  chunk a bounded number of times with backoff (local: :data:`hdm.engines.local.TRANSIENT_ATTEMPTS`; AWS: the
  ASL's ``Retry`` on ``"Transient"`` in the chunk states, the Lambda handlers raising every Transient, a
  connector's subclass too, under that error name); when it still fails the run stops with everything done so
  far kept, and the CLI answers with exit status :data:`hdm.exitcodes.TRANSIENT` ("try again later").
- :class:`SchemaNotReady`: the destination's prepare step could not make the schema the load writes; no record
  is sent. ``report`` carries what prepare found.
- :class:`SourceFailure` / :class:`DestinationFailure`: the source (destination) cannot be used as configured:
  unreachable, credentials refused, not the system the config says, the work refused. The CLI answers them
  with one line and exit status :data:`hdm.exitcodes.SOURCE` (:data:`~hdm.exitcodes.DESTINATION`).

How the CLI classifies an error (:mod:`hdm.errors`) never depends on a connector's module or class names: it
goes by these classes, then asks each registered connector's ``classify_error`` capability
(:data:`hdm.registry.CLASSIFY_ERROR`), which returns a line for an exception that is its own (a driver's
exception it lets through, say) or None; a source's line exits with SOURCE, a destination's with DESTINATION.
"""

from __future__ import annotations

from typing import Any, Optional


class ConnectorError(Exception):
    """Base of the generic connector failures."""


class QuotaExhausted(ConnectorError):
    """A daily or monthly allowance is spent: stop, resumable later."""


class Transient(ConnectorError):
    """Try again later."""


class SchemaNotReady(ConnectorError):
    """Prepare is incomplete: the load must not start. ``report`` is the prepare report (may be empty)."""

    report: Optional[dict[str, Any]] = None


class SourceFailure(ConnectorError):
    """The source cannot be used as configured (unreachable, login refused, not what the config says)."""


class DestinationFailure(ConnectorError):
    """The destination cannot be used as configured (unreachable, login refused, the work refused)."""


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or while handling (``__cause__``, else ``__context__``), bounded."""
    out: list[BaseException] = []
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen and len(out) < 20:
        out.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return out


def find(exc: BaseException, kind: type[BaseException]) -> Optional[BaseException]:
    """The first exception of ``kind`` in ``exc``'s cause/context chain (bounded), or None."""
    return next((e for e in chain(exc) if isinstance(e, kind)), None)


def is_quota_exhausted(exc: BaseException) -> bool:
    return find(exc, QuotaExhausted) is not None


def is_transient(exc: BaseException) -> bool:
    """A :class:`Transient` in ``exc``'s chain (and no spent quota: a quota stop is never retried now)."""
    return find(exc, Transient) is not None and not is_quota_exhausted(exc)


TRANSIENT_ERROR_NAME = "Transient"  # the error name the Lambda handlers raise it under (the ASL retries it)
