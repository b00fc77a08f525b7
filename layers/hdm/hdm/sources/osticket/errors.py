"""The one exception family the osTicket source raises: each carries a single clear sentence."""

from __future__ import annotations


class OsTicketError(Exception):
    """Base of every error the osTicket source raises on purpose."""


class OsTicketConnectionError(OsTicketError):
    """The database server cannot be reached (host, port, network)."""


class OsTicketTlsError(OsTicketConnectionError):
    """TLS to the database server is required but missing, or failed (certificate, name, CA file, plugin)."""


class OsTicketAuthError(OsTicketError):
    """The server refused the user name or password."""


class NotOsTicketError(OsTicketError):
    """The database exists but does not hold an osTicket install (or a required table is missing)."""


class WritableAccountError(OsTicketError):
    """The account can write to the osTicket database and ``allow_writable`` was not given."""


class WriteRefusedError(OsTicketError):
    """The read-only guard stopped a statement that is not SELECT/SHOW."""
