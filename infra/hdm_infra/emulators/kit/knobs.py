"""Knobs: an emulator's settings as dataclasses changed by partial JSON documents; fault injection by route family.

An emulator declares ``@dataclass class Knobs`` with its own fields plus ``faults: Faults``; ``merge_knobs``
merges a partial document over the current knobs (nested dataclasses merge field by field, ``dict[str, X]`` of
dataclasses are rebuilt) and refuses unknown names with ValueError. A field may name itself in errors with
``field(metadata={"knob_label": "fault knob"})``.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any

FAULT_KINDS = ("reset", "503", "429", "slow")


@dataclass
class Faults:
    """Per-request fault rates (0..1), drawn from one seeded random stream."""

    seed: int = 0
    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_reset: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 0.2
    rate_lock_row: float = 0.0  # per record: the emulator's "row locked" error
    families: list[str] = field(default_factory=list)  # empty: every counted family


def _check(names: set[str], allowed: set[str], label: str) -> None:
    unknown = names - allowed
    if unknown:
        raise ValueError(f"unknown {label}(s): {sorted(unknown)}")


def _build(tp: Any, value: Any, label: str) -> Any:
    """``value`` (plain JSON) as type ``tp`` where ``tp`` is a dataclass or dict[str, dataclass]."""
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        _check(set(value), {f.name for f in fields(tp)}, label)
        return tp(**value)
    if typing.get_origin(tp) is dict:
        _, item = typing.get_args(tp)
        if dataclasses.is_dataclass(item):
            return {k: _build(item, v, label) for k, v in (value or {}).items()}
    return value


def merge_knobs[T](cls: type[T], data: dict[str, Any], base: T | None = None) -> T:
    """Merge ``data`` (a partial knob document) over ``base`` (default: ``cls()``); unknown names raise ValueError."""
    if not isinstance(data, dict):
        raise ValueError("a knob document is a JSON object")
    current = asdict(base if base is not None else cls())  # type: ignore[call-overload]
    info = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    _check(set(data), set(info), "knob")
    for key, value in data.items():
        if isinstance(current[key], dict) and isinstance(value, dict) and dataclasses.is_dataclass(
                typing.get_type_hints(cls)[key]):
            current[key] = {**current[key], **value}
        else:
            current[key] = value
    hints = typing.get_type_hints(cls)
    out = {}
    for name, value in current.items():
        label = info[name].metadata.get("knob_label", f"{name} knob")
        out[name] = _build(hints[name], value, label)
    return cls(**out)


class FaultDice:
    """The seeded random stream behind fault injection: one draw per counted request, one per written record."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()

    def applies(self, family: str) -> bool:
        return not self.faults.families or family in self.faults.families

    def request_fault(self, family: str) -> str | None:
        """One of 'reset', '503', '429', 'slow' or None for this request."""
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
        """Whether this record hits a (simulated) row lock."""
        if not self.faults.rate_lock_row or not self.applies(family):
            return False
        with self._lock:
            return self._rng.random() < self.faults.rate_lock_row
