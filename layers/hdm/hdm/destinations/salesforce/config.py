"""The Salesforce destination's config (``destination: {type: salesforce, ...}`` in a migration config)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from hdm.pipeline.config import ConnectorConfig, DestinationUrl, LocalPath, LoginDomain, SecretRef


class SalesforceDestinationConfig(ConnectorConfig):
    type: Literal["salesforce"] = "salesforce"
    # Either a login (username + password [+ security token]) or an OAuth client (client id + secret).
    instance_url: Optional[DestinationUrl] = None
    login_domain: LoginDomain = "login"  # "login", "test", "<name>.my", or a host for a local emulator
    username: Optional[str] = None
    password: Optional[SecretRef] = None
    security_token: Optional[SecretRef] = None
    consumer_key: Optional[str] = None
    consumer_secret: Optional[SecretRef] = None
    ca_bundle: Optional[LocalPath] = None  # a CA file to trust (the local emulator's certificate)
    api_version: str = Field("62.0", pattern=r"^[0-9]{2,3}\.[0-9]$")
    bulk_threshold: int = Field(2000, ge=1)  # rows per chunk above which Bulk API 2.0 is used
    unmatched_agent_policy: Literal["block", "default_owner"] = "default_owner"
    default_owner_email: Optional[str] = None
    mapping_overrides: Optional[LocalPath] = None  # path of a customer mapping YAML merged over the default
    # a mapped field the org could not prepare: "stop" before loading (default), or "drop" it (flagged per record)
    unprepared_fields: Literal["stop", "drop"] = "stop"
    verify_after_load: bool = True
    body_file_bytes: int = Field(256 * 1024, ge=0)  # a larger message body becomes a file on the Case; 0: never
