"""Generic HTTP failures the engines act on, whatever the vendor.

- :class:`Transient`: try again later (connection lost, 429 or 5xx after the retries ran out).
- :class:`QuotaExhausted`: a daily/monthly allocation is spent; checkpoint and stop, do not retry now.
- :class:`AuthFailed`: credentials or session refused (401/403, a session that expires again right after login).
- :class:`NotFound`: 404.
- :class:`Rejected`: the vendor refused the request itself (other 4xx), with its own message.

Messages carry the call family (method and path template, never ids or query strings), the status and a
short vendor message. Never headers, never request bodies; the vendor text is cut, scrubbed of secret
values this process knows and of e-mail addresses (it may quote record values).

:class:`Transient` and :class:`QuotaExhausted` are also the generic :mod:`hdm.connector_errors` failures the
engines act on, so an HTTP connector lets them through as they are.
"""

from __future__ import annotations

from typing import Optional

from hdm import connector_errors
from hdm.logging import mask_pii
from hdm.pipeline.secrets import redact

MAX_VENDOR_MESSAGE = 200


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """One line, secrets replaced by ``***``, e-mails masked, at most :data:`MAX_VENDOR_MESSAGE` chars."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, "***")
    text = " ".join(mask_pii(redact(text)).split())
    return text if len(text) <= MAX_VENDOR_MESSAGE else text[: MAX_VENDOR_MESSAGE - 1] + "…"


class HttpKitError(Exception):
    """Base of every failure raised by :mod:`hdm.http`."""

    def __init__(self, what: str, *, family: str = "", status: Optional[int] = None,
                 vendor_message: str = "", retry_after: Optional[float] = None,
                 errors: Optional[list[dict]] = None) -> None:
        self.family = family
        self.errors = errors or []  # the vendor's error objects as data: for the connector, never the text
        self.status = status
        self.vendor_message = vendor_message
        self.retry_after = retry_after
        parts = [what]
        if family:
            parts.append(f"on {family}")
        if status is not None:
            parts.append(f"(HTTP {status})")
        text = " ".join(parts)
        if vendor_message:
            text += f": {vendor_message}"
        super().__init__(text)


class Transient(HttpKitError, connector_errors.Transient):
    """Worth trying again later; ``retry_after`` (seconds) when the server said so."""


class QuotaExhausted(HttpKitError, connector_errors.QuotaExhausted):
    """A daily or monthly allocation is spent (or the server asks to wait longer than the policy allows)."""


class AuthFailed(HttpKitError):
    """Credentials, token or session refused."""


class NotFound(HttpKitError):
    """The resource does not exist (404)."""


class Rejected(HttpKitError):
    """The vendor refused the request (a 4xx other than auth, 404 and 429); ``vendor_message`` says why."""


Side = Optional[str]  # "source" | "destination" | None: which side of the migration a client serves
_SIDED: dict[tuple[str, type], type] = {}
_GENERIC_OF_SIDE = {"source": connector_errors.SourceFailure, "destination": connector_errors.DestinationFailure}


def for_side(cls: type[HttpKitError], side: Side) -> type[HttpKitError]:
    """``cls`` as raised by a client serving ``side``: AuthFailed, NotFound and Rejected of a source client are
    also :class:`~hdm.connector_errors.SourceFailure` (exit 3), of a destination client
    :class:`~hdm.connector_errors.DestinationFailure` (exit 4); the class name stays. Without a side (or for
    Transient/QuotaExhausted, already generic) ``cls`` itself."""
    generic = _GENERIC_OF_SIDE.get(side or "")
    if generic is None or issubclass(cls, (connector_errors.Transient, connector_errors.QuotaExhausted)):
        return cls
    key = (str(side), cls)
    if key not in _SIDED:
        _SIDED[key] = type(cls.__name__, (cls, generic), {"__module__": __name__, "__qualname__": cls.__name__})
    return _SIDED[key]


class PagingError(HttpKitError):
    """A paging loop went past its bound or went round in circles."""


class PageCapReached(PagingError):
    """The vendor's page cap (Kustomer search: 100 pages) was reached with more to come: restart with a
    narrower query (keyset on ``updated_at``) from the last record seen."""
