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
PROPOSAL_KEY = "reports/mapping-proposal.json"  # written by `hdm mapping propose --config`
WAIVED = "waived_required"  # policies.waived_required: ["<Object>.<Field>", ...] a person waived


class MappingNotApprovable(ConfigError):
    """Required destination fields are neither mapped, defaulted nor waived: approval is refused."""

    def __init__(self, fields: list[str]):
        super().__init__("mapping", [
            "required destination field(s) not mapped: " + ", ".join(fields) + " — map them in the overrides, "
            f"give a default, or waive them (policies.{WAIVED})"])
        self.fields = fields


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


def unresolved_required(stage: Any, document: Optional[dict[str, Any]]) -> list[str]:
    """Required destination fields the staged proposal found unmapped that the effective mapping still neither
    maps nor waives."""
    if not document or not stage.exists(PROPOSAL_KEY):
        return []
    proposal = stage.get_json(PROPOSAL_KEY)
    waived = set((document.get("policies") or {}).get(WAIVED) or [])
    mapped = {(spec.get("target"), to) for spec in (document.get("objects") or {}).values()
              for to, f in (spec.get("fields") or {}).items() if f}
    custom = document.get("custom_fields") or {}
    for key, override in (custom.get("fields") or {}).items():
        if (override or {}).get("to"):
            mapped.add(((custom.get("targets") or {}).get(key.split(".")[0]), override["to"]))
    out = []
    for obj in (proposal.get("objects") or {}).values():
        for name in obj.get("required_unmapped") or []:
            if (obj.get("target"), name) not in mapped and f"{obj.get('target')}.{name}" not in waived:
                out.append(f"{obj.get('target')}.{name}")
    return sorted(set(out))


def record_review(stage: Any, destination: Any) -> Optional[str]:
    current = mapping_hash(destination)
    document = getattr(getattr(destination, "mapping", None), "document", None)
    if current is not None:
        stage.put_json(REVIEW_KEY, {"mapping_hash": current, "at": int(time.time()),
                                    "unresolved_required": unresolved_required(stage, document)})
    return current


def approve(stage: Any, by: str, at: Optional[int] = None) -> dict[str, Any]:
    """Record the approval of the mapping last reviewed on this stage (refused while required destination fields
    are unresolved)."""
    reviewed = stage.get_json(REVIEW_KEY) if stage.exists(REVIEW_KEY) else {}
    if reviewed.get("unresolved_required"):
        raise MappingNotApprovable(reviewed["unresolved_required"])
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
