"""Exceptions the Salesforce destination raises to the pipeline."""

from __future__ import annotations


class SalesforceDestinationError(RuntimeError):
    """A load cannot continue (bad configuration, a job the org refused as a whole …)."""


class DailyLimitExceeded(SalesforceDestinationError):
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


class SchemaNotReady(SalesforceDestinationError):
    """A field the mapping needs is missing in the org (run prepare, or ask the admin)."""
