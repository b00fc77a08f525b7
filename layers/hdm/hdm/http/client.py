"""One REST client for every connector: session, auth hook, rate limiter, retries, call counters, errors.

``client.request("GET", "/contacts/{id}", path_params={"id": cid})`` sends to ``base_url`` + the path with
its parameters URL-quoted; the *family* counted and named in errors is ``GET /contacts/{id}`` (the
template, so counts do not explode per record and no id reaches a message). An absolute URL (a vendor's
``next_url``) must stay on the base URL's origin: credentials are never sent anywhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Optional
from urllib.parse import quote, urlsplit

import requests
import tenacity

from hdm.http.auth import AuthHook
from hdm.http.counters import CallCounters
from hdm.http.errors import (
    AuthFailed,
    HttpKitError,
    NotFound,
    QuotaExhausted,
    Rejected,
    Transient,
    for_side,
    scrub,
)
from hdm.http.ratelimit import RateLimiter
from hdm.http.retry import (
    IDEMPOTENT_METHODS,
    RetryableFailure,
    RetryPolicy,
    make_retrying,
    never_reached_server,
    parse_retry_after,
)
from hdm.http.session import make_session
from hdm.logging import get_logger

log = get_logger(__name__)

Timeout = tuple[float, float]
# the connection failed or broke (also mid-answer); anything else requests raises is a bad request
BROKEN = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def vendor_message(response: requests.Response) -> str:
    """The vendor's own error text, from the shapes Intercom (``errors[].code/message``), Kayako
    (``errors[].code/message``) and Kustomer (JSON:API ``errors[].title/detail``) use, or ``message``/``error``.
    A body that is not JSON is not quoted (a gateway page may echo the request)."""
    try:
        body = response.json()
    except ValueError:
        length = len(response.content or b"")
        return f"non-JSON answer ({length} bytes)" if length else ""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = first.get("code") or first.get("status")
        text = first.get("message") or first.get("detail") or first.get("title") or ""
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return " ".join(str(p) for p in (code, text) if p) + more
    for key in ("message", "error", "error_description"):
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value:
            return value
    return ""


def vendor_errors(response: requests.Response) -> list[dict]:
    """The body's ``errors`` list as data (at most 20), for a connector that must read it (Intercom's 409
    names the existing contact's id). Kept on the exception, never put in its text."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors[:20] if isinstance(e, dict)] if isinstance(errors, list) else []


class HttpClient:
    def __init__(self, base_url: str, *, auth: Optional[AuthHook] = None,
                 session: Optional[requests.Session] = None, limiter: Optional[RateLimiter] = None,
                 counters: Optional[CallCounters] = None, retry: RetryPolicy = RetryPolicy(),
                 timeout: Timeout = (5.0, 60.0), headers: Optional[Mapping[str, str]] = None,
                 is_quota: Optional[Callable[[requests.Response], bool]] = None,
                 sleep: Callable[[float], None] = time.sleep, side: Optional[str] = None) -> None:
        """``side`` ("source" or "destination"): which side of the migration this client serves, so that its
        AuthFailed/NotFound/Rejected are also the generic SourceFailure/DestinationFailure (exit 3/4)."""
        if side not in (None, "source", "destination"):
            raise ValueError("side must be 'source', 'destination' or None")
        self.side = side
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("base_url must be an absolute http(s) URL")
        if not timeout or any(t is None or t <= 0 for t in timeout):
            raise ValueError("timeout must be (connect seconds, read seconds), both > 0")
        self.base_url = base_url.rstrip("/")
        self._origin = (parts.scheme, parts.netloc.lower())
        self.session = session or make_session()
        self.auth = auth
        if auth is not None and hasattr(auth, "session"):
            auth.session = self.session
        self.limiter = limiter
        self.counters = counters or CallCounters()
        self.retry = retry
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.is_quota = is_quota
        self._sleep = sleep

    # -- helpers ------------------------------------------------------------------------------------------
    def _err(self, cls: type[HttpKitError]) -> type[HttpKitError]:
        """``cls`` as this client raises it: also the generic failure of its side (see :func:`for_side`)."""
        return for_side(cls, self.side)

    def _secrets(self) -> tuple[str, ...]:
        return self.auth.secrets() if self.auth is not None else ()

    def url_for(self, path: str, path_params: Optional[Mapping[str, Any]] = None) -> str:
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                raise self._err(Rejected)("refusing to follow a URL to another origin")
            return path
        if path_params:
            path = path.format(**{k: quote(str(v), safe="") for k, v in path_params.items()})
        return self.base_url + "/" + path.lstrip("/")

    @staticmethod
    def family_of(method: str, path: str) -> str:
        if path.startswith(("http://", "https://")):
            path = urlsplit(path).path
        return f"{method.upper()} {path.split('?', 1)[0]}"

    # -- the call -----------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, path_params: Optional[Mapping[str, Any]] = None,
                params: Optional[Mapping[str, Any]] = None, json: Any = None, data: Any = None,
                headers: Optional[Mapping[str, str]] = None, idempotent: Optional[bool] = None,
                family: Optional[str] = None, timeout: Optional[Timeout] = None,
                stream: bool = False) -> requests.Response:
        """Send with limiter, retries and re-login; return a 2xx/3xx response or raise an
        :mod:`hdm.http.errors` exception. ``stream=True``: the answer's body is not read yet (the caller reads it
        with ``iter_content`` and closes the response); a body that breaks off is the caller's to retry, by
        calling again, since the retries here end when the headers arrived."""
        method = method.upper()
        family = family or self.family_of(method, path)
        url = self.url_for(path, path_params)
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        send = dict(params=params, json=json, data=data, headers={**self.headers, **(headers or {})},
                    timeout=timeout or self.timeout, verify=self.session.verify, auth=self.auth,
                    allow_redirects=False, stream=stream)
        attempt_no = {"n": 0}

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s; retry %d in %.2fs", getattr(getattr(exc, "final", exc), "args", ("?",))[0],
                        state.attempt_number, state.upcoming_sleep)

        def attempt() -> requests.Response:
            attempt_no["n"] += 1
            return self._attempt(method, url, family, send, idempotent, retry=attempt_no["n"] > 1)

        retrying = make_retrying(self.retry, sleep=self._sleep, before_sleep=before_sleep)
        try:
            return retrying(attempt)
        except RetryableFailure as exc:
            raise exc.final from None
        except AuthFailed as exc:  # a login by the auth hook: raised without knowing the side
            sided = self._err(AuthFailed)
            if type(exc) is sided:
                raise
            again = sided(str(exc))
            again.status, again.family = exc.status, exc.family or family
            raise again from None

    def _attempt(self, method: str, url: str, family: str, send: dict, idempotent: bool,
                 retry: bool) -> requests.Response:
        relogged = False
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            started = time.monotonic()
            try:
                response = self.session.request(method, url, **send)
            except requests.RequestException as exc:
                if self.limiter is not None:
                    self.limiter.observe({})
                self.counters.record(family, "connection-error", time.monotonic() - started, retry)
                if isinstance(exc, requests.exceptions.SSLError):
                    raise self._err(Rejected)("TLS handshake failed (certificate not trusted? give the CA bundle)",
                                   family=family) from None
                reached = not never_reached_server(exc)
                final = Transient(f"connection failed ({type(exc).__name__})", family=family)
                if isinstance(exc, BROKEN) and (idempotent or not reached):
                    raise RetryableFailure(final) from None
                if isinstance(exc, BROKEN):
                    raise Transient(f"connection failed ({type(exc).__name__}) after the request may have "
                                    "reached the server; not sent again (not idempotent)", family=family) from None
                raise self._err(Rejected)(f"request failed ({type(exc).__name__})", family=family) from None
            elapsed = time.monotonic() - started
            self.counters.record(family, str(response.status_code), elapsed, retry or relogged)
            if self.limiter is not None:
                self.limiter.observe(response.headers)
            if self.auth is not None and self.auth.is_expired(response):
                if relogged:
                    raise self._err(AuthFailed)("session expired again right after a new login", family=family,
                                     status=response.status_code)
                relogged = True
                log.info("%s: session expired (HTTP %d); logging in again", family, response.status_code)
                response.close()
                self.auth.renew(response)
                continue
            return self._check(response, family, idempotent)

    def _check(self, response: requests.Response, family: str, idempotent: bool) -> requests.Response:
        status = response.status_code
        if status < 400:
            return response
        message = scrub(vendor_message(response), self._secrets())
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if (self.is_quota is not None and self.is_quota(response)) or (
                status == 429 and retry_after is not None and retry_after > self.retry.quota_after):
            raise QuotaExhausted("quota exhausted", family=family, status=status, vendor_message=message,
                                 retry_after=retry_after)
        if status in self.retry.statuses:
            final = Transient("server busy" if status == 429 else "server error", family=family, status=status,
                              vendor_message=message, retry_after=retry_after)
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                raise final
            if idempotent or (status == 429 and self.retry.resend_writes_on_429):
                raise RetryableFailure(final, retry_after)
            raise final
        if status in (401, 403):
            raise self._err(AuthFailed)("not authorised", family=family, status=status, vendor_message=message)
        if status == 404:
            raise self._err(NotFound)("not found", family=family, status=status, vendor_message=message)
        raise self._err(Rejected)("request rejected", family=family, status=status, vendor_message=message,
                       errors=vendor_errors(response))

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.json("GET", path, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise self._err(Rejected)("answer is not JSON", family=kwargs.get("family") or self.family_of(method, path),
                           status=response.status_code) from None


__all__ = ["HttpClient", "HttpKitError", "vendor_message"]
