"""The exceptions the Kayako source raises on purpose (each one clear sentence; the CLI maps every exception
of ``hdm.sources`` to the source exit status). Transient and quota failures of the HTTP kit pass through as
they are: the engines act on them."""

from __future__ import annotations

from hdm import connector_errors


class KayakoError(connector_errors.SourceFailure):
    """Base of every error the Kayako source raises on purpose (a generic source failure: exit status 3)."""


class KayakoAuthError(KayakoError):
    """Kayako refused the e-mail and password (or the session, right after a fresh login)."""


class KayakoClassicError(KayakoError):
    """The instance is Kayako Classic (4.x): it has no REST API v1, and this source reads only new Kayako."""


class NotKayakoError(KayakoError):
    """The host does not answer like a Kayako API v1."""


class KayakoApiError(KayakoError):
    """Kayako refused a read (a 4xx other than auth and 404) or a listing went past its bound or in circles."""


class KayakoNotFound(KayakoApiError):
    """A record or listing the source asked for does not exist (404)."""
