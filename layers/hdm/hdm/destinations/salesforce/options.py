"""Options of the Salesforce destination (all have defaults; the engine passes a dict or this class)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional

DEFAULT_BLOCKED_EXTENSIONS = (
    "exe", "bat", "cmd", "com", "scr", "msi", "vbs", "vbe", "js", "jse", "wsf", "wsh", "ps1", "pif", "cpl",
    "jar", "dll", "hta", "reg", "app",
)


@dataclass
class SalesforceOptions:
    bulk_threshold: int = 2000  # rows per chunk from which Bulk API 2.0 is used; below it sObject Collections
    collection_size: int = 200  # records per sObject Collections request (Salesforce maximum: 200)
    bulk_poll_seconds: float = 2.0  # first wait before polling a Bulk job (simple-salesforce ``wait``)
    unmatched_agent_policy: str = "default_owner"  # "block" | "default_owner"
    default_owner_email: Optional[str] = None  # User for cases of unmatched agents (policy default_owner)
    default_owner_id: Optional[str] = None  # or its Id directly
    audit_fields: str = "auto"  # "auto" (from describe) | "on" | "off": set CreatedDate on insert
    comment_max_bytes: int = 4000  # CaseComment.CommentBody limit (bytes)
    # a message body larger than this (UTF-8 bytes) becomes a file on the Case with one comment pointing to it,
    # instead of hundreds of comments; 0: always split into comments
    body_file_bytes: int = 256 * 1024
    file_upload_concurrency: int = 4  # files uploaded at once within a chunk (one REST call each)
    max_file_bytes: int = 25 * 1024 * 1024  # larger files are held (JSON base64 upload limit ~37.5 MB encoded)
    blocked_extensions: tuple[str, ...] = DEFAULT_BLOCKED_EXTENSIONS
    retry_attempts: int = 8  # per HTTP call, on 429/503/UNABLE_TO_LOCK_ROW/connection errors
    retry_base_seconds: float = 0.5  # exponential backoff base (full jitter)
    retry_max_seconds: float = 30.0  # cap of one wait
    retry_total_seconds: float = 300.0  # cap of all waits of one call
    queue_name_prefix: str = ""  # prefix for Queue names made from departments
    legacy_namespace: Optional[str] = None  # the migration id: legacy IDs "<namespace>/<key>" (see legacy_ids.py)
    timezone_label: str = "UTC"  # how comment header timestamps are labelled
    unprepared_fields: str = "stop"  # "stop": prepare raises SchemaNotReady | "drop": load without them, flagged
    reference_names: dict[str, str] = field(default_factory=dict)  # "category:3" -> "Billing" (else from stage)
    stage: Any = None  # hdm.stage.base.Stage: attachment bytes and reference names

    @classmethod
    def from_any(cls, value: SalesforceOptions | dict[str, Any] | None) -> SalesforceOptions:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown Salesforce destination options: {sorted(unknown)}")
        opts = cls(**value)
        if opts.unmatched_agent_policy not in ("block", "default_owner"):
            raise ValueError("unmatched_agent_policy must be 'block' or 'default_owner'")
        if opts.audit_fields not in ("auto", "on", "off"):
            raise ValueError("audit_fields must be 'auto', 'on' or 'off'")
        if opts.unprepared_fields not in ("stop", "drop"):
            raise ValueError("unprepared_fields must be 'stop' or 'drop'")
        if opts.body_file_bytes < 0:
            raise ValueError("body_file_bytes must be 0 (never) or a number of bytes")
        if not 1 <= opts.collection_size <= 200:
            raise ValueError("collection_size must be between 1 and 200")
        opts.blocked_extensions = tuple(e.lower().lstrip(".") for e in opts.blocked_extensions)
        return opts
