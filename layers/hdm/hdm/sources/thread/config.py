"""The Thread source's config (``source: {type: thread, path: ...}`` or ``{type: thread, staged: ...}``): where the
bundle is, exactly as for the export source (``hdm stage-input`` stages it on AWS)."""

from __future__ import annotations

from typing import Literal

from hdm.sources.export.config import ExportSourceConfig


class ThreadSourceConfig(ExportSourceConfig):
    type: Literal["thread"] = "thread"  # type: ignore[assignment]
