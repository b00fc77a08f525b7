"""Per-family call counters and the usage total an emulator charges against its allocation."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any


class CallCounters:
    """Thread-safe counts per route family; ``api_used`` counts every call outside ``uncounted`` families.

    ``save(families, api_used)`` persists them; it runs at most once per ``flush_every`` seconds while counting,
    and on ``flush()``.
    """

    def __init__(self, families: dict[str, int] | None = None, api_used: int = 0,
                 save: Callable[[dict[str, int], int], None] | None = None,
                 uncounted: Iterable[str] = (), flush_every: float = 1.0) -> None:
        self.families: defaultdict[str, int] = defaultdict(int, families or {})
        self.api_used = int(api_used)
        self.uncounted = frozenset(uncounted)
        self._save = save
        self._flush_every = flush_every
        self._lock = threading.Lock()
        self._last_flush = 0.0

    def count(self, family: str) -> None:
        with self._lock:
            self.families[family] += 1
            if family not in self.uncounted:
                self.api_used += 1
        self._flush(False)

    def clear(self, usage: bool = False) -> None:
        """Forget the per-family counts (and the usage total with ``usage=True``), then persist."""
        with self._lock:
            self.families.clear()
            if usage:
                self.api_used = 0
        self.flush()

    def set_usage(self, used: int) -> None:
        with self._lock:
            self.api_used = int(used)
        self.flush()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            families = dict(self.families)
            used = self.api_used
        return {"families": families, "total": sum(families.values()), "api_usage": used}

    def _flush(self, force: bool) -> None:
        now = time.monotonic()
        if self._save is None or (not force and now - self._last_flush < self._flush_every):
            return
        self._last_flush = now
        with self._lock:
            families, used = dict(self.families), self.api_used
        self._save(families, used)

    def flush(self) -> None:
        self._flush(True)
