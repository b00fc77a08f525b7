"""The Kustomer source's failures: the HTTP kit's, re-raised as classes of this package so the CLI and the engines
say "source" (credentials refused, unreachable) instead of an internal error. Each keeps its kit class as a base
(``Transient`` and ``QuotaExhausted`` are still the generic connector failures the engines act on)."""

from __future__ import annotations

from hdm import connector_errors
from hdm.http import errors as kit


class KustomerAuthFailed(kit.AuthFailed, connector_errors.SourceFailure):
    """The API key was refused (401) or lacks a role (403)."""


class KustomerNotFound(kit.NotFound, connector_errors.SourceFailure):
    pass


class KustomerRejected(kit.Rejected, connector_errors.SourceFailure):
    pass


class KustomerUnavailable(kit.Transient):
    """Kustomer did not answer usefully after the retries (connection, 429, 5xx): try again later."""


class KustomerQuotaExhausted(kit.QuotaExhausted):
    pass


class KustomerPagingError(kit.PagingError, connector_errors.SourceFailure):
    pass


_CLASSES: list[tuple[type[kit.HttpKitError], type[kit.HttpKitError]]] = [
    (kit.AuthFailed, KustomerAuthFailed), (kit.NotFound, KustomerNotFound), (kit.QuotaExhausted,
                                                                             KustomerQuotaExhausted),
    (kit.Transient, KustomerUnavailable), (kit.PagingError, KustomerPagingError), (kit.Rejected, KustomerRejected),
]


def translate(exc: kit.HttpKitError) -> kit.HttpKitError:
    """The same failure (message, family, status, vendor message, retry_after) as this package's class."""
    for base, ours in _CLASSES:
        if isinstance(exc, base) and not isinstance(exc, ours):
            new = ours.__new__(ours)
            Exception.__init__(new, *exc.args)
            new.__dict__.update(exc.__dict__)
            return new
    return exc
