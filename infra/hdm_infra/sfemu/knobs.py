"""Realism knobs of the emulated org: validation rules, fault injection (the kit's), limits, org settings."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from hdm_infra.emulators.kit.knobs import FaultDice, Faults, merge_knobs

__all__ = ["FaultDice", "Faults", "Knobs", "ValidationRule", "rejected_by_rule"]

DEFAULT_DAILY_API_MAX = 5_000_000  # a Full sandbox allocation; the recorded Developer Edition has 15,000
DEFAULT_DAILY_BATCH_MAX = 15_000
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024


@dataclass
class ValidationRule:
    """Rejects `fraction` of the records of one object, chosen by a hash of (seed, content)."""

    fraction: float = 0.0
    message: str = "Record rejected by validation rule"
    fields: list[str] = field(default_factory=list)
    only_when_set: bool = False  # a rule on a field's value: records where none of `fields` has a value pass


@dataclass
class Knobs:
    seed: int = 0
    validation_rules: dict[str, ValidationRule] = field(default_factory=dict,
                                                        metadata={"knob_label": "validation rule key"})
    faults: Faults = field(default_factory=Faults, metadata={"knob_label": "fault knob"})
    daily_api_max: int = DEFAULT_DAILY_API_MAX
    daily_batch_max: int = DEFAULT_DAILY_BATCH_MAX
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    audit_fields: bool = False
    # object -> {"queue": "<Queue DeveloperName or Name>"}: the active assignment rule
    assignment_rules: dict[str, dict[str, str]] = field(default_factory=dict)
    query_page_size: int = 2000
    # org features (salesforce-next.md §2.1: Knowledge__kav exists only with Lightning Knowledge enabled; §4:
    # Entitlement and SlaProcess only with Entitlements enabled): a disabled feature's objects answer 404
    knowledge_enabled: bool = True
    entitlements_enabled: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], base: Knobs | None = None) -> Knobs:
        """Merge `data` (a partial knob document) over `base`; unknown names raise ValueError."""
        return merge_knobs(cls, data, base)


def rejected_by_rule(rule: ValidationRule, seed: int, obj: str, record: dict[str, Any]) -> bool:
    """Deterministic: the same record content under the same seed is always rejected or always passes."""
    if rule.fraction <= 0:
        return False
    if rule.fraction >= 1:
        return True
    content = json.dumps({k: v for k, v in record.items() if not isinstance(v, bytes)}, sort_keys=True,
                         default=str)
    digest = hashlib.blake2b(f"{seed}|{obj}|{content}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rule.fraction
