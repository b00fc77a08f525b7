"""Migration configuration: validated data, never code branches per customer.

Secrets are *references* (``env:NAME``, ``file:/path``, ``arn:aws:secretsmanager:…``), resolved only
where a connection is opened (hdm.pipeline.secrets). A config therefore can be logged, staged and
passed as state machine input without leaking anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hdm.sources.tls import is_loopback_host

SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|arn:aws[a-z-]*:secretsmanager:.+)$")


def _check_secret_ref(value: Optional[str]) -> Optional[str]:
    if value is None:
        return value
    if not SECRET_REF.match(value):
        raise ValueError(
            "must be a secret reference (env:NAME, file:/path or a Secrets Manager ARN), not a literal secret"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceTlsConfig(_Strict):
    """TLS to the source database; the server's certificate is always verified."""

    ca_bundle: Optional[str] = None  # the CA file to trust (absent: the system's trust store)
    verify_identity: bool = True  # the certificate must name `host`
    client_cert: Optional[str] = None  # a client certificate (PEM), when the server asks for one
    client_key: Optional[str] = None  # its key, when not in client_cert
    client_key_password: Optional[str] = None  # secret reference

    _v = field_validator("client_key_password")(_check_secret_ref)

    @model_validator(mode="after")
    def _key_needs_cert(self) -> SourceTlsConfig:
        if (self.client_key or self.client_key_password) and not self.client_cert:
            raise ValueError("client_key / client_key_password need client_cert")
        return self


class OsTicketSourceConfig(_Strict):
    type: Literal["osticket"] = "osticket"
    host: str = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    database: str
    user: str
    password: str  # a secret reference
    prefix: Optional[str] = None  # detected when absent
    attachments_dir: Optional[str] = None  # the filesystem storage backend's upload path
    attachment_roots: list[str] = Field(default_factory=list)  # further folders files may be read from (1.6 '6')
    allow_writable: bool = False
    # TLS: required for every host that is not loopback; the only way around it is the loud opt-out below
    ssl: Optional[SourceTlsConfig] = None
    insecure_plaintext_connection: bool = False

    _v = field_validator("password")(_check_secret_ref)

    @model_validator(mode="after")
    def _tls_required_off_this_machine(self) -> OsTicketSourceConfig:
        if self.ssl is not None and self.insecure_plaintext_connection:
            raise ValueError("ssl and insecure_plaintext_connection contradict each other: drop one")
        if self.ssl is None and not self.insecure_plaintext_connection and not is_loopback_host(self.host):
            raise ValueError(
                "host is not loopback, so TLS is required: add ssl (ca_bundle: the server's CA file) or, "
                "accepting that ticket data and the password cross the network in clear, set "
                "insecure_plaintext_connection: true")
        return self


class SalesforceDestinationConfig(_Strict):
    type: Literal["salesforce"] = "salesforce"
    # Either a login (username + password [+ security token]) or an OAuth client (client id + secret).
    instance_url: Optional[str] = None
    login_domain: str = "login"  # "login", "test", or a host for a local emulator
    username: Optional[str] = None
    password: Optional[str] = None  # secret reference
    security_token: Optional[str] = None  # secret reference
    consumer_key: Optional[str] = None
    consumer_secret: Optional[str] = None  # secret reference
    ca_bundle: Optional[str] = None  # a CA file to trust (the local emulator's certificate)
    api_version: str = "62.0"
    bulk_threshold: int = Field(2000, ge=1)  # rows per chunk above which Bulk API 2.0 is used
    unmatched_agent_policy: Literal["block", "default_owner"] = "default_owner"
    default_owner_email: Optional[str] = None
    mapping_overrides: Optional[str] = None  # path of a customer mapping YAML merged over the default
    # a mapped field the org could not prepare: "stop" before loading (default), or "drop" it (flagged per record)
    unprepared_fields: Literal["stop", "drop"] = "stop"
    verify_after_load: bool = True
    body_file_bytes: int = Field(256 * 1024, ge=0)  # a larger message body becomes a file on the Case; 0: never

    _v = field_validator("password", "security_token", "consumer_secret")(_check_secret_ref)


SourceConfig = Annotated[Union[OsTicketSourceConfig], Field(discriminator="type")]
DestinationConfig = Annotated[Union[SalesforceDestinationConfig], Field(discriminator="type")]


class MigrationConfig(_Strict):
    migration_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,62}$")
    source: SourceConfig
    destination: DestinationConfig
    chunk_rows: int = Field(2000, ge=1, le=1_000_000)  # source rows per chunk (tickets for ticket-scoped types)
    require_approval: bool = True  # a person confirms the mapping before any record moves
    thread_confidence_threshold: float = Field(0.8, ge=0.0, le=1.0)
    max_workers: int = Field(2, ge=1, le=64)  # local engine worker pool
    options: dict[str, Any] = Field(default_factory=dict)
    # a load phase rejecting more than this share of its records stops the run before its dependants load
    reject_threshold: float = Field(0.01, ge=0.0, le=1.0)

    @classmethod
    def load(cls, path: str | Path) -> MigrationConfig:
        data = yaml.safe_load(Path(path).read_text())
        return cls.model_validate(data)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
