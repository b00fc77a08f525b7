"""The ``requests`` session every REST connector uses: TLS verified (system store or a CA bundle file),
a User-Agent, pooled connections sized for the worker count. Timeouts are not a session setting in
``requests``; :class:`hdm.http.client.HttpClient` passes one on every call, and passes ``verify`` too, so a
``REQUESTS_CA_BUNDLE`` in the environment cannot replace the configured bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import requests
from requests.adapters import HTTPAdapter

import hdm

DEFAULT_USER_AGENT = f"hdm/{getattr(hdm, '__version__', '0')} (helpdesk migrator)"


def make_session(*, user_agent: str = DEFAULT_USER_AGENT, ca_bundle: Optional[str | Path] = None,
                 pool_size: int = 10) -> requests.Session:
    """A session with certificate verification always on; ``ca_bundle`` (a PEM file) replaces the system
    store, for servers signed by a private CA. Retries are the client's job: the adapter does none."""
    session = requests.Session()
    if ca_bundle is not None:
        path = Path(ca_bundle)
        if not path.is_file():
            raise ValueError(f"CA bundle {path} is not a file")
        session.verify = str(path)
    else:
        session.verify = True
    session.headers["User-Agent"] = user_agent
    session.headers["Accept"] = "application/json"
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
