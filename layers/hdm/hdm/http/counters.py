"""Call counters per family (method + path template, e.g. ``GET /contacts/{id}``) for reports and benchmarks."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class FamilyCount:
    calls: int = 0  # requests sent (each retry and re-login counts)
    retries: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # "200", "429", "connection-error"
    seconds: float = 0.0  # time spent in requests (not in limiter or backoff waits)


class CallCounters:
    """Thread-safe; one instance per client (or shared by several clients of one account)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: dict[str, FamilyCount] = defaultdict(FamilyCount)

    def record(self, family: str, outcome: str, seconds: float, retry: bool) -> None:
        with self._lock:
            count = self._families[family]
            count.calls += 1
            count.retries += int(retry)
            count.statuses[outcome] = count.statuses.get(outcome, 0) + 1
            count.seconds += seconds

    def calls(self, family: str) -> int:
        with self._lock:
            return self._families[family].calls if family in self._families else 0

    @property
    def total(self) -> int:
        with self._lock:
            return sum(c.calls for c in self._families.values())

    def snapshot(self) -> dict[str, dict]:
        """``{family: {calls, retries, statuses, seconds}}``, sorted by family, JSON-ready."""
        with self._lock:
            return {name: {"calls": c.calls, "retries": c.retries, "statuses": dict(sorted(c.statuses.items())),
                           "seconds": round(c.seconds, 3)}
                    for name, c in sorted(self._families.items())}
