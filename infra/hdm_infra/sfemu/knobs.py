"""Realism knobs of the emulated org: validation rules, fault injection, limits, org settings."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

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
class Faults:
    """Per-request fault rates (0..1), drawn from one seeded random stream."""

    seed: int = 0
    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_reset: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 0.2
    rate_lock_row: float = 0.0  # per record, UNABLE_TO_LOCK_ROW
    families: list[str] = field(default_factory=list)  # empty: every counted family


@dataclass
class Knobs:
    seed: int = 0
    validation_rules: dict[str, ValidationRule] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    daily_api_max: int = DEFAULT_DAILY_API_MAX
    daily_batch_max: int = DEFAULT_DAILY_BATCH_MAX
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    audit_fields: bool = False
    # object -> {"queue": "<Queue DeveloperName or Name>"}: the active assignment rule
    assignment_rules: dict[str, dict[str, str]] = field(default_factory=dict)
    query_page_size: int = 2000

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], base: Knobs | None = None) -> Knobs:
        """Merge `data` (a partial knob document) over `base`; unknown names raise ValueError."""
        current = asdict(base or cls())
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown knob(s): {sorted(unknown)}")
        for key, value in data.items():
            if key == "faults":
                fault_names = {f.name for f in fields(Faults)}
                bad = set(value) - fault_names
                if bad:
                    raise ValueError(f"unknown fault knob(s): {sorted(bad)}")
                current["faults"] = {**current["faults"], **value}
            else:
                current[key] = value
        rules = {}
        for obj, rule in (current["validation_rules"] or {}).items():
            bad = set(rule) - {f.name for f in fields(ValidationRule)}
            if bad:
                raise ValueError(f"unknown validation rule key(s): {sorted(bad)}")
            rules[obj] = ValidationRule(**rule)
        current["validation_rules"] = rules
        current["faults"] = Faults(**current["faults"])
        return cls(**current)


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


class FaultDice:
    """The seeded random stream behind fault injection."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()

    def applies(self, family: str) -> bool:
        return not self.faults.families or family in self.faults.families

    def request_fault(self, family: str) -> str | None:
        """One of '429', '503', 'reset', 'slow' or None for this request."""
        f = self.faults
        if not self.applies(family) or not (f.rate_429 or f.rate_503 or f.rate_reset or f.rate_slow):
            return None
        with self._lock:
            roll = self._rng.random()
        edge = 0.0
        for name, rate in (("reset", f.rate_reset), ("503", f.rate_503), ("429", f.rate_429), ("slow", f.rate_slow)):
            edge += rate
            if roll < edge:
                return name
        return None

    def lock_row(self, family: str) -> bool:
        if not self.faults.rate_lock_row or not self.applies(family):
            return False
        with self._lock:
            return self._rng.random() < self.faults.rate_lock_row
