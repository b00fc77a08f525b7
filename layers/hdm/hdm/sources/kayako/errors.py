"""The exceptions the Kayako source raises on purpose (each one clear sentence; the CLI maps every exception
of ``hdm.sources`` to the source exit status). Transient and quota failures of the HTTP kit pass through as
they are: the engines act on them."""

from __future__ import annotations


class KayakoError(Exception):
    """Base of every error the Kayako source raises on purpose."""


class KayakoAuthError(KayakoError):
    """Kayako refused the e-mail and password (or the session, right after a fresh login)."""


class KayakoClassicError(KayakoError):
    """The instance is Kayako Classic (4.x): it has no REST API v1, and this source reads only new Kayako."""


class NotKayakoError(KayakoError):
    """The host does not answer like a Kayako API v1."""
