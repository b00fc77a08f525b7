"""The Kayako source's config (``source: {type: kayako, ...}`` in a migration config)."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Optional

from pydantic import Field, field_validator

from hdm.pipeline.config import ConnectorConfig, LocalPath, SecretRef, SourceHost


class KayakoSourceConfig(ConnectorConfig):
    type: Literal["kayako"] = "kayako"
    host: SourceHost  # the instance, e.g. "acme.kayako.com" (the API is https://<host>[:port]/api/v1)
    port: Optional[int] = Field(None, ge=1, le=65535)  # only for a non-standard port (the emulator)
    email: SecretRef  # the agent's login e-mail (a secret reference: it is a credential)
    password: SecretRef
    ca_bundle: Optional[LocalPath] = None  # a CA file to trust instead of the system store (the emulator's)
    page_size: int = Field(100, ge=1, le=1000)  # items per listing call (Kayako's maximum is not documented)
    # Kayako publishes no numbers; when the account's limit is known, calls are spread to use this share of it
    rate_limit_per_minute: Optional[int] = Field(None, ge=1)
    rate_share: float = Field(0.8, gt=0, le=1)
    max_pages: int = Field(100_000, ge=1)  # the bound of every paging loop
    # a delta run: only cases, users and organizations updated at or after this instant (ISO-8601 with its
    # offset). Kayako has no server-side updated_at filter, so the listings are still read in full (one call
    # per page); what is saved is every per-case call (posts, attachments) of the cases that did not change.
    updated_since: Optional[str] = None

    @field_validator("updated_since")
    @classmethod
    def _instant(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("updated_since must be an ISO-8601 date and time, e.g. 2024-05-01T00:00:00Z") from None
        if when.tzinfo is None:
            raise ValueError("updated_since needs its UTC offset (e.g. 2024-05-01T00:00:00Z)")
        return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

    @property
    def api_url(self) -> str:
        netloc = self.host if self.port in (None, 443) else f"{self.host}:{self.port}"
        return f"https://{netloc}/api/v1"
