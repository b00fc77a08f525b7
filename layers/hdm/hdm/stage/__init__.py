"""The stage: where chunks, plans, results and attachment bytes live between phases."""

from hdm.stage.base import Stage

__all__ = ["Stage"]
