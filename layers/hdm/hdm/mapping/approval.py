"""Approval bound to the mapping: who approved, when, and the hash of the effective mapping (after overrides) that
was reviewed. The load refuses a mapping whose hash differs from the approved one.

Engine-neutral: the records live on the migration's stage (a local folder or S3).
- ``reports/mapping-review.json``: the hash of the mapping the staged transforms were made with (written when the
  load is planned, i.e. what the person reviews at the approval pause);
- ``reports/mapping-approval.json``: {by, at, mapping_hash}, written when a person approves.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from hdm.pipeline.config import ConfigError

REVIEW_KEY = "reports/mapping-review.json"
APPROVAL_KEY = "reports/mapping-approval.json"


class MappingNotApproved(ConfigError):
    """The mapping to load is not the one that was approved (exit status 2, like any config problem)."""

    def __init__(self, approved: str, current: str):
        super().__init__("mapping", [
            f"the mapping changed since it was approved (approved {approved}, now {current}); review it "
            "and approve again (`hdm approve`) before anything is loaded"])
        self.approved = approved
        self.current = current


def mapping_hash(destination: Any) -> Optional[str]:
    """The destination's hash of its effective mapping, or ``None`` when it has no mapping to bind to."""
    fingerprint = getattr(destination, "fingerprint", None)
    return fingerprint() if callable(fingerprint) else None


def record_review(stage: Any, destination: Any) -> Optional[str]:
    current = mapping_hash(destination)
    if current is not None:
        stage.put_json(REVIEW_KEY, {"mapping_hash": current, "at": int(time.time())})
    return current


def approve(stage: Any, by: str, at: Optional[int] = None) -> dict[str, Any]:
    """Record the approval of the mapping last reviewed on this stage."""
    reviewed = stage.get_json(REVIEW_KEY) if stage.exists(REVIEW_KEY) else {}
    record = {"by": by, "at": int(time.time()) if at is None else at, "mapping_hash": reviewed.get("mapping_hash")}
    stage.put_json(APPROVAL_KEY, record)
    return record


def approved(stage: Any) -> Optional[dict[str, Any]]:
    return stage.get_json(APPROVAL_KEY) if stage.exists(APPROVAL_KEY) else None


def check(stage: Any, destination: Any) -> None:
    """Before any write: the mapping to load must be the approved one (when an approval was recorded), else the
    one reviewed at the approval pause of this run."""
    current = mapping_hash(destination)
    if current is None:
        return
    record = approved(stage) or (stage.get_json(REVIEW_KEY) if stage.exists(REVIEW_KEY) else None)
    bound = (record or {}).get("mapping_hash")
    if bound and bound != current:
        raise MappingNotApproved(bound, current)
