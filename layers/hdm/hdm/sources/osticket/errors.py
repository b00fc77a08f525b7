"""The one exception family the osTicket source raises: each carries a single clear sentence."""

from __future__ import annotations

from typing import Optional

from hdm import connector_errors


class OsTicketError(connector_errors.SourceFailure):
    """Base of every error the osTicket source raises on purpose (a generic source failure: exit status 3)."""


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


def classify_error(exc: BaseException) -> Optional[str]:
    """The registry's ``classify_error`` hook: a line for the database driver's own exceptions and anything else
    this package raised (the CLI exits with the source's status), None for the rest."""
    module = type(exc).__module__ or ""
    if module.startswith("pymysql"):
        return _pymysql_line(exc)
    package = __name__.rsplit(".", 1)[0]
    if module == package or module.startswith(package + "."):
        return str(exc)
    return None


def _pymysql_line(e: BaseException) -> str:
    args = getattr(e, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        code, message = args[0], str(args[1])
        if code in (2003, 2005, 2013):
            return f"cannot reach the database ({message.split('(')[0].strip()})"
        if code in (1044, 1045):
            return f"the database refused the login: {message}"
        return f"database error {code}: {message}"
    return str(e)
