"""The osTicket source: direct, read-only extraction from osTicket's MySQL/MariaDB database (1.7 → 1.18).

Public surface:
- :class:`OsTicketSource` (discover, plan, extract, ``last_stats``) and :class:`ConnParams`;
- :func:`build_scoping_report` / :func:`render_scoping_markdown` (discovery/scoping report);
- :func:`build_inventory` (automation inventory, Markdown for the customer's admin);
- the :class:`OsTicketError` family.

Every name is imported on first use: the registry imports this package to read the connector's config model,
and a config check (the trigger API's cold start, `hdm status`) should not pay for pymysql and the extractor.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ConnParams": "connection",
    "OsTicketSource": "source",
    "build_scoping_report": "scoping",
    "render_scoping_markdown": "scoping",
    "build_inventory": "inventory",
    **{name: "errors" for name in ("NotOsTicketError", "OsTicketAuthError", "OsTicketConnectionError",
                                   "OsTicketError", "OsTicketTlsError", "WritableAccountError",
                                   "WriteRefusedError")},
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
