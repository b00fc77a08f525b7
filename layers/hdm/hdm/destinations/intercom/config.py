"""The Intercom destination's config (``destination: {type: intercom, ...}`` in a migration config)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from hdm.pipeline.config import ConnectorConfig, DestinationUrl, LocalPath, SecretRef


class IntercomDestinationConfig(ConnectorConfig):
    type: Literal["intercom"] = "intercom"
    access_token: SecretRef  # the private app's access token (Authorization: Bearer)
    # https://api.intercom.io, https://api.eu.intercom.io, https://api.au.intercom.io, or the local emulator
    base_url: DestinationUrl = "https://api.intercom.io"
    ca_bundle: Optional[LocalPath] = None  # a CA file to trust (the local emulator's certificate)
    api_version: str = Field("2.16", pattern=r"^2\.1[6-9]$")  # ticket replies carry files from 2.16 on
    # the app's limit (10,000 calls a minute for a private app) and the share of it this migration may use; the
    # rest is left for the workspace's other apps (the limiter also follows X-RateLimit-Remaining/Reset)
    rate_limit_per_minute: int = Field(10_000, ge=1)
    quota_share: float = Field(0.8, gt=0, le=1)
    # agents are matched to existing admins by email (never created); tickets and parts of an unmatched agent
    # go to the default admin (flagged) or are held for a person ("block")
    unmatched_agent_policy: Literal["block", "default_admin"] = "default_admin"
    default_admin_email: Optional[str] = None  # default: the token's own admin (GET /me)
    ticket_type_name: str = Field("Migrated ticket", min_length=1, max_length=100)
    max_attachment_bytes: int = Field(20 * 1024 * 1024, ge=1)  # larger files are held and flagged, never dropped
    mapping_overrides: Optional[LocalPath] = None  # a customer mapping YAML merged over the default
    verify_after_load: bool = True
    # whether the workspace's plan has private notes (message_type "note"). No Intercom API tells (GET /me's app
    # names no plan), and a probe note would write to the customer's workspace, so the admin says so here. False:
    # prepare warns when the source has internal notes, and the load holds them (never sends one as a reply); the
    # run ends "needs attention". True (the default) and the workspace refuses a note (403): that note is held too.
    private_notes_available: bool = True
    # a ticket with no requester (an osTicket task): Intercom needs a contact on every ticket. "placeholder" (the
    # default): one contact made for the migration (no email: nothing is ever sent to anyone) stands in, and each
    # such ticket is flagged requester_placeholder; "hold": the ticket and its entries are held (no_requester)
    no_requester_contact: Literal["hold", "placeholder"] = "placeholder"
