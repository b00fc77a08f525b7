"""The osTicket source: direct, read-only extraction from osTicket's MySQL/MariaDB database (1.7 → 1.18).

Public surface:
- :class:`OsTicketSource` (discover, plan, extract, ``last_stats``) and :class:`ConnParams`;
- :func:`build_scoping_report` / :func:`render_scoping_markdown` (discovery/scoping report);
- :func:`build_inventory` (automation inventory, Markdown for the customer's admin);
- the :class:`OsTicketError` family.
"""

from hdm.sources.osticket.connection import ConnParams
from hdm.sources.osticket.errors import (
    NotOsTicketError,
    OsTicketAuthError,
    OsTicketConnectionError,
    OsTicketError,
    OsTicketTlsError,
    WritableAccountError,
    WriteRefusedError,
)
from hdm.sources.osticket.source import OsTicketSource

__all__ = [
    "ConnParams", "NotOsTicketError", "OsTicketAuthError", "OsTicketConnectionError", "OsTicketError",
    "OsTicketSource", "OsTicketTlsError", "WritableAccountError", "WriteRefusedError", "build_inventory",
    "build_scoping_report", "render_scoping_markdown",
]


def __getattr__(name: str):  # lazy: scoping/inventory pull in more than extraction needs
    if name in ("build_scoping_report", "render_scoping_markdown"):
        from hdm.sources.osticket import scoping

        return getattr(scoping, name)
    if name == "build_inventory":
        from hdm.sources.osticket.inventory import build_inventory

        return build_inventory
    raise AttributeError(name)
