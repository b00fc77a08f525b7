"""Salesforce Service Cloud destination: mapping-driven, dependency-ordered, idempotent loads through
simple-salesforce (sObject Collections below the Bulk threshold, Bulk API 2.0 above), with field-level
verification and rollback of what the migration created.

Every name is imported on first use: the registry imports this package to read the connector's config model,
and a config check should not pay for simple-salesforce and the loaders."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "SalesforceDestination": "destination",
    "DailyLimitExceeded": "errors",
    "SalesforceDestinationError": "errors",
    "SchemaNotReady": "errors",
    "SalesforceOptions": "options",
    "PHASES": "phases",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
