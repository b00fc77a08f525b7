"""Exceptions the Salesforce destination raises to the pipeline. The ones the engines act on are the generic
failures of :mod:`hdm.connector_errors` (the engines never name these classes)."""

from __future__ import annotations

from typing import Any, Optional

from hdm import connector_errors


class SalesforceDestinationError(connector_errors.DestinationFailure, RuntimeError):
    """A load cannot continue (bad configuration, a job the org refused as a whole …)."""


class DailyLimitExceeded(SalesforceDestinationError, connector_errors.QuotaExhausted):
    """The org's API allocation is used up (REQUEST_LIMIT_EXCEEDED).

    The pipeline must checkpoint and stop; a later run continues from the crosswalk (every row already
    loaded is recorded there, every row in flight has a pending marker and is verified before a retry).
    """

    def __init__(self, detail: str = "", usage: str | None = None):
        msg = "Salesforce daily API request limit exceeded (REQUEST_LIMIT_EXCEEDED): stop and resume after the " \
              "rolling 24-hour allocation frees up"
        if usage:
            msg += f" (api usage {usage})"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
        self.usage = usage


class SchemaNotReady(SalesforceDestinationError, connector_errors.SchemaNotReady):
    """Fields the load would write are missing in the org or not writable: the load must not start.

    ``fields`` lists ``{"field": "Case.x__c", "reason": ...}``; ``report`` is the whole prepare report.
    """

    def __init__(self, fields: list[dict[str, str]], report: dict[str, Any] | None = None):
        shown = "; ".join(f"{f['field']} ({f['reason']})" for f in fields[:20])
        more = f"; and {len(fields) - 20} more" if len(fields) > 20 else ""
        super().__init__(f"the Salesforce schema is not ready: {len(fields)} field(s) the load writes could not be "
                         f"created or verified: {shown}{more}. Fix them (or ask the admin) and run again; or set "
                         "unprepared_fields='drop' to load without them (each record flagged).")
        self.fields = fields
        self.report = report or {}


def classify_error(exc: BaseException) -> Optional[str]:
    """The registry's ``classify_error`` hook: a line for simple_salesforce's exceptions and anything else this
    package raised (the CLI exits with the destination's status), None for the rest."""
    name, module = type(exc).__name__, type(exc).__module__ or ""
    if module.startswith("simple_salesforce"):
        if name == "SalesforceAuthenticationFailed":
            return f"login refused: {exc}"
        return f"{name}: {exc}"
    package = __name__.rsplit(".", 1)[0]
    if module == package or module.startswith(package + "."):
        return str(exc)
    return None
