"""Intercom destination: tickets with their conversation parts (replies and internal notes), contacts,
companies and attachments, loaded through Intercom's REST API 2.16 with the hdm REST kit (rate limiter fed by
``X-RateLimit-*``, retries honouring ``Retry-After``), idempotent without external ids on parts (pending markers
in the crosswalk and a read-back of the ticket's parts), verified by reading every ticket back.

Names are imported on first use: the registry imports this package to read the connector's config model."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "IntercomDestination": "destination",
    "IntercomApi": "api",
    "PHASES": "phases",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
