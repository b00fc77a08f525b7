"""The Kayako API v1 client on hdm's REST kit: Basic login once, then ``X-Session-ID``; a new login when the
session dies (401 or 454, whichever the instance sends); 429 honoured with its ``Retry-After``; 5xx and broken
connections retried (GETs only: the source never writes); every call counted per family.

Paging follows ``next_url`` (or the ``Link: rel="next"`` header) and never assumes a cursor works: a resource
that ignores ``after_id`` answers from its first page, so :meth:`KayakoClient.id_range` filters by id and keeps
following ``next_url`` until it passes the range. Every loop is bounded by ``max_pages``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Optional

import requests

from hdm.http import (
    AuthFailed,
    HttpClient,
    NotFound,
    PagingError,
    RateLimiter,
    Rejected,
    RetryPolicy,
    SessionTokenAuth,
    Transient,
    basic_login,
    make_session,
)
from hdm.http.client import BROKEN
from hdm.http.paging import next_url_pages
from hdm.sources.kayako.errors import (
    KayakoApiError,
    KayakoAuthError,
    KayakoClassicError,
    KayakoNotFound,
    NotKayakoError,
)

DOWNLOAD_BLOCK = 256 * 1024


def auth_error(exc: AuthFailed) -> KayakoAuthError:
    hint = (" (403 at login: the account may need two-factor authentication, which this source does not do; "
            "use an agent account without it)") if exc.status == 403 else ""
    return KayakoAuthError(f"Kayako refused the login or session: {exc}{hint}")


def translated(exc: Exception) -> Exception:
    """The source's own error for a kit error the engines do not act on (transient and quota errors pass)."""
    if isinstance(exc, AuthFailed):
        return auth_error(exc)
    if isinstance(exc, NotFound):
        return KayakoNotFound(f"Kayako: {exc}")
    return KayakoApiError(f"Kayako: {exc}")


def _is_envelope(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "status" in body


class KayakoClient:
    def __init__(self, api_url: str, email: str, password: str, *, ca_bundle: Optional[str] = None,
                 page_size: int = 100, max_pages: int = 100_000, rate_limit_per_minute: Optional[int] = None,
                 rate_share: float = 0.8, retry: RetryPolicy = RetryPolicy(attempts=8, total=600.0),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not email or not password:
            raise KayakoAuthError("the Kayako source needs an e-mail and a password")
        self.api_url = api_url.rstrip("/")
        self.page_size = page_size
        self.max_pages = max_pages
        self._sleep = sleep
        self.auth = SessionTokenAuth(basic_login(f"{self.api_url}/session.json", email, password),
                                     header="X-Session-ID", expired_statuses=(401, 454), secrets=(password,))
        limiter = RateLimiter(rate_limit_per_minute, 60.0, share=rate_share) if rate_limit_per_minute else None
        self.http = HttpClient(self.api_url, auth=self.auth, session=make_session(ca_bundle=ca_bundle),
                               limiter=limiter, retry=retry, sleep=sleep)

    @property
    def counters(self):  # noqa: ANN201 - hdm.http.CallCounters
        return self.http.counters

    # -- one record, lists -----------------------------------------------------------------------------
    def get(self, path: str, params: Optional[Mapping[str, Any]] = None, **path_params: Any) -> dict[str, Any]:
        try:
            body = self.http.get_json(path, params=params, path_params=path_params or None)
        except (AuthFailed, NotFound, Rejected, PagingError) as exc:
            raise translated(exc) from exc
        return body if isinstance(body, dict) else {}

    def pages(self, path: str, params: Optional[Mapping[str, Any]] = None,
              family: Optional[str] = None, **path_params: Any) -> Iterator[list[dict[str, Any]]]:
        """Every page of a listing (``next_url`` followed), as lists of items."""
        query = {"limit": self.page_size, **(params or {})}
        try:
            for page in next_url_pages(self.http, path, max_pages=self.max_pages, params=query,
                                       path_params=path_params or None,
                                       family=family or self.http.family_of("GET", path)):
                yield [i for i in page.items if isinstance(i, dict)]
        except (AuthFailed, NotFound, Rejected, PagingError) as exc:
            raise translated(exc) from exc

    def items(self, path: str, params: Optional[Mapping[str, Any]] = None, **path_params: Any
              ) -> Iterator[dict[str, Any]]:
        for page in self.pages(path, params, **path_params):
            yield from page

    def id_range(self, path: str, lo: int, hi: int, params: Optional[Mapping[str, Any]] = None
                 ) -> Iterator[dict[str, Any]]:
        """Items with ``lo <= id <= hi`` of an id-ordered listing, each once: starts at ``after_id = lo - 1``
        and follows ``next_url``; items outside the range (a server that ignored the cursor) are skipped, an
        id that goes backwards or repeats stops the walk with an error rather than lose or double records."""
        last = lo - 1
        for page in self.pages(path, {**(params or {}), "after_id": lo - 1}):
            for item in page:
                ident = int(item.get("id") or 0)
                if ident < lo:
                    continue  # before the range: the cursor was ignored, the walk goes on by next_url
                if ident <= last:
                    raise NotKayakoError(f"{path}: ids are not ascending ({ident} after {last}); the walk "
                                         "cannot tell what it already read")
                if ident > hi:
                    return
                last = ident
                yield item

    def download_to(self, url: str, put_blob: Callable[[Iterator[bytes]], Any]) -> tuple[Any, Optional[str]]:
        """Streams the bytes of an attachment URL (same origin only; the session goes with it) into ``put_blob``
        in blocks of ``DOWNLOAD_BLOCK`` bytes (never the whole file in memory); returns what ``put_blob`` returned
        and the answer's content type. The kit retries until the headers arrive; an answer whose body breaks
        off is downloaded again from its first byte into a fresh ``put_blob`` call (the stage's writer drops
        the partial object), bounded by the retry policy's attempts and total time."""
        family = "GET media" if "/media/url/" in url else "GET attachment"
        policy = self.http.retry
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.request("GET", url, family=family, stream=True)
            except AuthFailed as exc:
                raise auth_error(exc) from exc
            kind = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip() or None
            try:
                with response:
                    return put_blob(response.iter_content(DOWNLOAD_BLOCK)), kind
            except BROKEN as exc:
                self.http.counters.record(family, "broken-body", 0.0, attempt > 1)
                if attempt >= policy.attempts or time.monotonic() - started > policy.total:
                    raise Transient(f"download broke off mid-answer {attempt} times ({type(exc).__name__})",
                                    family=family) from None
                self._sleep(min(policy.cap, policy.base * 2 ** (attempt - 1)))

    # -- what is on the other end ----------------------------------------------------------------------
    def probe(self) -> dict[str, Any]:
        """The session record (``GET /session``) of new Kayako; :class:`KayakoClassicError` for Kayako Classic,
        :class:`NotKayakoError` for anything else. The first look goes without credentials: new Kayako answers
        its JSON envelope (401) there, Classic an HTML 404 (it has no /api/v1) and XML at /api/index.php."""
        try:
            bare = self.http.session.get(f"{self.api_url}/session.json", timeout=self.http.timeout,
                                         verify=self.http.session.verify, allow_redirects=False)
        except requests.RequestException as exc:
            raise NotKayakoError(f"cannot reach {self.api_url} ({type(exc).__name__})") from None
        if not _is_envelope(bare):
            if self._is_classic():
                raise KayakoClassicError(
                    "this is Kayako Classic (4.x): it has no REST API v1 at /api/v1 and answers its XML API at "
                    "/api/index.php. The kayako source reads new (cloud) Kayako only; export the Classic data "
                    "another way before migrating")
            raise NotKayakoError(f"{self.api_url} does not answer like a Kayako API v1 "
                                 f"(HTTP {bare.status_code}, no JSON envelope)")
        return self.get("/session")

    def _is_classic(self) -> bool:
        base = self.api_url[: -len("/api/v1")] if self.api_url.endswith("/api/v1") else self.api_url
        try:
            response = self.http.session.get(f"{base}/api/index.php", params={"e": "/Base/Department"},
                                             timeout=self.http.timeout, verify=self.http.session.verify,
                                             allow_redirects=False)
        except requests.RequestException:
            return False
        kind = response.headers.get("Content-Type", "")
        return "xml" in kind or response.text.lstrip().startswith("<?xml")

    def close(self) -> None:
        self.http.session.close()
