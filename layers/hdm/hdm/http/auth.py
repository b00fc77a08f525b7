"""Auth hooks, given secret values that are already resolved (never logged, never in ``repr``).

- :class:`BearerAuth`: ``Authorization: Bearer <token>`` (Intercom, Kustomer).
- :class:`BasicAuth`: ``Authorization: Basic`` (Kayako's first call).
- :class:`SessionTokenAuth`: logs in once, caches the session token, sends it in a header
  (Kayako: ``X-Session-ID``), and on the vendor's "session expired" status (Kayako: 401, or 454
  ``SESSION_LOADING_FAILED``) logs in again, once per request; the client raises :class:`AuthFailed` if the
  fresh session is refused too. Workers share one instance: login is serialised, and a thread that saw an
  old token expire does not throw away the fresh one another thread just got.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Optional

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from hdm.http.errors import AuthFailed, scrub


class AuthHook(AuthBase):
    """An auth for :class:`hdm.http.client.HttpClient`: adds headers; may ask for one re-login."""

    def secrets(self) -> tuple[str, ...]:
        """Values to scrub from any text this kit raises or logs."""
        return ()

    def is_expired(self, response: requests.Response) -> bool:
        return False

    def renew(self, expired: requests.Response) -> None:  # pragma: no cover - only session auth renews
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


class BearerAuth(AuthHook):
    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("bearer token is empty")
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)


class BasicAuth(AuthHook):
    def __init__(self, username: str, password: str) -> None:
        self._basic = HTTPBasicAuth(username, password)
        self._password = password

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return self._basic(r)

    def secrets(self) -> tuple[str, ...]:
        return (self._password,)


Login = Callable[[requests.Session], str]


class SessionTokenAuth(AuthHook):
    """``login(session) -> token`` is called lazily and again after an expiry (at most once per request)."""

    def __init__(self, login: Login, *, header: str = "X-Session-ID",
                 expired_statuses: tuple[int, ...] = (401, 454), secrets: tuple[str, ...] = ()) -> None:
        self._login = login
        self._header = header
        self._expired = frozenset(expired_statuses)
        self._secrets = tuple(s for s in secrets if s)
        self._token: Optional[str] = None
        self._lock = threading.Lock()
        self.logins = 0
        self.session: Optional[requests.Session] = None  # set by the client that uses this hook

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[self._header] = self._token or self._do_login(None)
        return r

    def _do_login(self, stale: Optional[str]) -> str:
        with self._lock:
            if self._token is not None and self._token != stale:
                return self._token  # another worker already logged in again
            if self.session is None:
                raise AuthFailed("session login has no HTTP session (use it through HttpClient)")
            try:
                token = self._login(self.session)
            except AuthFailed:
                raise
            except requests.RequestException as exc:
                raise AuthFailed(f"session login failed: {type(exc).__name__}") from None
            if not token:
                raise AuthFailed("session login returned no session token")
            self._token = token
            self.logins += 1
            return token

    def renew(self, expired: requests.Response) -> None:
        """Log in again unless another worker already replaced the token this response was refused with."""
        self._do_login(expired.request.headers.get(self._header) if expired.request is not None else None)

    def is_expired(self, response: requests.Response) -> bool:
        return response.status_code in self._expired

    def secrets(self) -> tuple[str, ...]:
        return self._secrets + ((self._token,) if self._token else ())


def basic_login(url: str, username: str, password: str, *, token_field: str = "session_id",
                timeout: tuple[float, float] = (5.0, 30.0)) -> Login:
    """A login that sends Basic credentials to ``url`` and reads the token from the JSON body's
    ``token_field`` (Kayako: ``GET /api/v1/session.json`` → ``session_id``). The login goes through the
    client's session (same TLS settings) but not through its limiter, retries or counters."""

    def login(session: requests.Session) -> str:
        response = session.get(url, auth=HTTPBasicAuth(username, password), timeout=timeout,
                               verify=session.verify, allow_redirects=False)
        if response.status_code in (401, 403):
            raise AuthFailed("session login refused", status=response.status_code)
        if not response.ok:
            raise AuthFailed("session login failed", status=response.status_code,
                             vendor_message=scrub(response.text[:400], (password,)))
        try:
            token = response.json().get(token_field)
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise AuthFailed(f"session login answered without {token_field}", status=response.status_code)
        return token

    return login
