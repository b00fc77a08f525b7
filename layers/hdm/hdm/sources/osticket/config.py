"""The osTicket source's config (``source: {type: osticket, ...}`` in a migration config)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from hdm.pipeline.config import (
    ConnectorConfig,
    InsecureOptOut,
    LocalPath,
    Protection,
    SecretRef,
    SourceHost,
    StrictModel,
)
from hdm.sources.tls import is_loopback_host


class SourceTlsConfig(StrictModel):
    """TLS to the source database; the server's certificate is always verified."""

    ca_bundle: Optional[LocalPath] = None  # the CA file to trust (absent, with ca_pem: the system's trust store)
    # or that file's PEM text, as a secret reference (on Lambda, where no local file can be named): loaded in memory
    ca_pem: Optional[SecretRef] = None
    verify_identity: Protection = True  # the certificate must name `host`
    client_cert: Optional[LocalPath] = None  # a client certificate (PEM), when the server asks for one
    client_key: Optional[LocalPath] = None  # its key, when not in client_cert
    client_key_password: Optional[SecretRef] = None

    @model_validator(mode="after")
    def _key_needs_cert(self) -> SourceTlsConfig:
        if self.ca_bundle and self.ca_pem:
            raise ValueError("ca_bundle and ca_pem both name the CA to trust: give one (ca_bundle: a file; "
                             "ca_pem: a secret reference to its PEM text)")
        if (self.client_key or self.client_key_password) and not self.client_cert:
            raise ValueError("client_key / client_key_password need client_cert")
        return self


class OsTicketSourceConfig(ConnectorConfig):
    type: Literal["osticket"] = "osticket"
    host: SourceHost = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    database: str
    user: str
    password: SecretRef
    prefix: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_]{0,32}$")  # table prefix; detected when absent
    attachments_dir: Optional[LocalPath] = None  # the filesystem storage backend's upload path
    attachment_roots: list[LocalPath] = Field(default_factory=list)  # further folders files may be read from ('6')
    allow_writable: bool = False
    # TLS: required for every host that is not loopback; the only way around it is the loud opt-out below
    ssl: Optional[SourceTlsConfig] = None
    insecure_plaintext_connection: InsecureOptOut = False

    @model_validator(mode="after")
    def _tls_required_off_this_machine(self) -> OsTicketSourceConfig:
        if self.ssl is not None and self.insecure_plaintext_connection:
            raise ValueError("ssl and insecure_plaintext_connection contradict each other: drop one")
        if self.ssl is None and not self.insecure_plaintext_connection and not is_loopback_host(self.host):
            raise ValueError(
                "host is not loopback, so TLS is required: add ssl (ca_bundle: the server's CA file, or ca_pem: "
                "a secret reference to its PEM text) or, "
                "accepting that ticket data and the password cross the network in clear, set "
                "insecure_plaintext_connection: true")
        return self
