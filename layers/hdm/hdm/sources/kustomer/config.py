"""The Kustomer source's config (``source: {type: kustomer, ...}`` in a migration config)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import AwareDatetime, Field

from hdm.pipeline.config import ConnectorConfig, LocalPath, SecretRef, SourceHost


class KustomerSourceConfig(ConnectorConfig):
    type: Literal["kustomer"] = "kustomer"
    # the org's API host: <org>.api.kustomerapp.com (preferred: routes to the org's region), api.kustomerapp.com
    # (US) or api.prod2.kustomerapp.com (EU); always HTTPS, the API is under /v1
    host: SourceHost = "api.kustomerapp.com"
    port: Optional[int] = Field(None, ge=1, le=65535)
    api_key: SecretRef  # a read-only API key (its machine user's roles decide what can be read)
    ca_bundle: Optional[LocalPath] = None  # the CA to trust instead of the system store (the emulator's)
    page_size: int = Field(100, ge=1, le=100)  # GET lists (most lists allow at most 100)
    search_page_size: int = Field(500, ge=1, le=500)  # search pages (at most 500)
    # the org's plan: requests per minute for the whole org (Enterprise 1,000; Ultimate 2,000; Business 500;
    # Professional 300), and searches per minute for API keys (100); hdm takes `rate_share` of each
    rate_limit_per_minute: int = Field(1000, ge=1)
    search_rate_limit_per_minute: int = Field(100, ge=1)
    rate_share: float = Field(0.8, gt=0, le=1)
    # delta run: only records whose updatedAt is at or after this instant (the previous run's high-water mark)
    since: Optional[AwareDatetime] = None
    download_attachments: bool = True
