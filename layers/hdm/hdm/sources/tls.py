"""TLS to a source database: which hosts may go without it, and the client context that verifies the server.

A connection to any host that is not loopback (``localhost``, 127.0.0.0/8, ``::1``) or a unix socket must use
TLS unless the configuration opts out by name (``insecure_plaintext_connection``). With TLS the server's
certificate is always verified: against ``ca_bundle`` when given, else the system's trust store; and, unless
``verify_identity`` is false, it must name the host connected to.
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


@dataclass(frozen=True)
class TlsOptions:
    """How to reach a database server over TLS (paths are local files, ``client_key_password`` a resolved value)."""

    ca_bundle: Optional[str] = None
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

    def context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2 or newer, the server certificate verified (and its name, unless disabled).

        Raises ``OSError``/``ssl.SSLError`` when a file cannot be read or does not hold what it should.
        """
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_bundle)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        # chain and name are verified; only the extra RFC 5280 strictness checks of Python 3.13 are relaxed, as
        # pymysql does, since many database servers' own generated certificates lack extensions it requires
        ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = bool(self.verify_identity)
        if self.client_cert:
            ctx.load_cert_chain(self.client_cert, keyfile=self.client_key or None,
                                password=self.client_key_password or None)
        return ctx
