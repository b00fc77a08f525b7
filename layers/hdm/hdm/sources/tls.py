"""TLS to a source database: which hosts may go without it, and the client context that verifies the server.

A connection to any host that is not loopback (``localhost``, 127.0.0.0/8, ``::1``) or a unix socket must use
TLS unless the configuration opts out by name (``insecure_plaintext_connection``). With TLS the server's
certificate is always verified: against ``ca_bundle`` (a file) or ``ca_pem`` (the PEM text itself, e.g. from a
secret, loaded in memory: nothing is written to disk) when given, else the system's trust store; and, unless
``verify_identity`` is false, it must name the host connected to.

Errors name the configuration field at fault and never carry a value read from a secret.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from typing import Any, Optional

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: Optional[str]) -> bool:
    """True for a name or address that never leaves this machine (no host means the client's default, a socket)."""
    if host is None or host == "":
        return True
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped is not None and mapped.is_loopback)


PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


class TlsSetupError(ValueError):
    """The client context could not be built; ``field`` names the option at fault (``ca_pem``, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class TlsOptions:
    """How to reach a database server over TLS (paths are local files; ``ca_pem`` and ``client_key_password``
    resolved values, never shown)."""

    ca_bundle: Optional[str] = None
    ca_pem: Optional[str | bytes] = field(default=None, repr=False)  # the CA bundle's PEM text
    verify_identity: bool = True
    client_cert: Optional[str] = None
    client_key: Optional[str] = None
    client_key_password: Optional[str] = field(default=None, repr=False)

    @classmethod
    def of(cls, value: TlsOptions | dict[str, Any] | None) -> Optional[TlsOptions]:
        if value is None or isinstance(value, TlsOptions):
            return value
        known = {k: v for k, v in value.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown TLS option(s): {', '.join(unknown)}")
        return cls(**known)

    def __post_init__(self) -> None:
        if self.ca_bundle and self.ca_pem is not None:
            raise TlsSetupError("ca_pem", "give either ca_bundle (a file) or ca_pem (its PEM text), not both")

    def context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2 or newer, the server certificate verified (and its name, unless disabled).

        Raises ``OSError`` when a file cannot be read, ``ssl.SSLError`` when a file does not hold what it should
        and :class:`TlsSetupError` (naming the option, never showing a secret) for ``ca_pem`` and the client key.
        """
        if self.ca_pem is not None:
            try:
                ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=_pem_text(self.ca_pem))
            except (ssl.SSLError, ValueError) as exc:
                if isinstance(exc, TlsSetupError):
                    raise
                raise TlsSetupError("ca_pem", "holds a PEM block that is not a readable certificate") from None
        else:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_bundle)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        # chain and name are verified; only the extra RFC 5280 strictness checks of Python 3.13 are relaxed, as
        # pymysql does, since many database servers' own generated certificates lack extensions it requires
        ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = bool(self.verify_identity)
        if self.client_cert:
            self._load_client_certificate(ctx)
        return ctx

    def _load_client_certificate(self, ctx: ssl.SSLContext) -> None:
        asked: list[bool] = []

        def password() -> str | bytes:
            # a callable, so an encrypted key without a password fails here instead of OpenSSL prompting on a
            # terminal (which would hang a service), and so a wrong password can be told from a bad file
            asked.append(True)
            if not self.client_key_password:
                raise TlsSetupError("client_key_password", "the client key is encrypted: set client_key_password "
                                                           "(a secret reference)")
            return self.client_key_password

        try:
            ctx.load_cert_chain(self.client_cert, keyfile=self.client_key or None, password=password)
        except ssl.SSLError:
            if asked:
                raise TlsSetupError("client_key_password", "does not decrypt the client key") from None
            raise


def _pem_text(value: str | bytes) -> str:
    """The PEM text of a CA bundle given inline; refuses (without showing it) anything holding no certificate.

    ``ssl`` would take an empty text as "no CA given" and trust the system's store instead: refused too."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            raise TlsSetupError("ca_pem", "is not PEM text (binary data)") from None
    if PEM_CERTIFICATE not in value:
        raise TlsSetupError("ca_pem", f"holds no PEM certificate (expected a {PEM_CERTIFICATE} block)")
    return value
