"""The crosswalk: source record → destination record, for lookups, idempotency, reconciliation, rollback."""

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry, Origin, State

__all__ = ["Crosswalk", "CrosswalkEntry", "Origin", "State"]
