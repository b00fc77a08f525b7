"""Proposing a mapping: every source object, field and value domain matched to the destination, with a confidence
and the reasons behind it, offline and deterministic (``hdm mapping propose``).

The core names no connector. It works on two plain shapes the connectors supply through registry capabilities:

- a source's :data:`FIELD_PROFILES` capability, ``fn(source) -> dict``: ``{"objects": {<canonical object>:
  {"fields": [{"name", "label", "type", "custom", "values" | "counts", "hints"?}]}}}`` (``values``: real values
  as read; ``counts``: value -> count; ``hints``: value -> a second name, e.g. an osTicket status's state);
- a destination's :data:`PROPOSAL_FIELDS` capability, ``fn(describes) -> dict``: ``{"objects": {<destination
  object>: [{"name", "label", "type", "length", "required", "writable", "custom", "picklist", "restricted",
  "default"}]}}`` with types in :data:`hdm.mapping.propose.types.TYPES`.
"""

from hdm.mapping.propose.match import Proposal, propose

FIELD_PROFILES = "field_profiles"  # source capability: fn(source) -> the profile document above
PROPOSAL_FIELDS = "proposal_fields"  # destination capability: fn(describes: dict[object, describe]) -> targets

__all__ = ["FIELD_PROFILES", "PROPOSAL_FIELDS", "Proposal", "propose"]
