"""Ticket tags on the Case, by configuration (mapping policy ``ticket_tags``):

    policies:
      ticket_tags: {field: hdm_Tags__c, as: multipicklist}   # or as: text (a long text field, values "; "-joined)

Without the policy, tags are not loaded and a ticket that has tags is flagged ``tags_not_loaded`` (never dropped
silently). Salesforce's multi-select limits (``shared/reference/notes/salesforce-next.md`` §9): each value at most
255 characters, the ``;``-joined value at most 4,099 characters, a value may not contain ``;`` (the separator), and
a picklist holds at most 1,000 values (prepare creates the field from the staged Tag records; over 1,000 it becomes
a text field, noted in the prepare report). A value that does not fit is left out and flagged on its ticket, with
what was left out; the ticket loads with the values that fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from hdm.destinations.salesforce.fields import FieldDef
from hdm.mapping import Mapping

MODES = ("multipicklist", "text")
VALUE_MAX = 255  # §9: per value
MULTI_TOTAL_MAX = 4099  # §9: the stored ";"-joined value
MULTI_SELECTED_MAX = 100  # §9: the cap on selected values is [unverified]; 100 is the old documented one (and sfemu's)
TEXT_LENGTH = 32768  # the long text field made for mode "text"
TEXT_SEPARATOR = "; "


def tag_policy(mapping: Mapping) -> Optional[dict[str, Any]]:
    """The validated ``ticket_tags`` policy, or None."""
    raw = (mapping.policies or {}).get("ticket_tags")
    if not raw:
        return None
    if not isinstance(raw, dict) or not raw.get("field") or raw.get("as", "multipicklist") not in MODES:
        raise ValueError("policies.ticket_tags must be {field: <Case field API name>, as: multipicklist | text}")
    return {"field": str(raw["field"]), "as": raw.get("as", "multipicklist"),
            "length": int(raw.get("length") or TEXT_LENGTH)}


def tag_fields(mapping: Mapping) -> list[FieldDef]:
    """The Case field prepare creates for tags (none without the policy)."""
    policy = tag_policy(mapping)
    if policy is None:
        return []
    if policy["as"] == "multipicklist":
        return [FieldDef("Case", policy["field"], "MultiselectPicklist", label="Tags", visible_lines=4,
                         picklist_from="tag", description="Ticket tags from the helpdesk (migrated)")]
    return [FieldDef("Case", policy["field"], "LongTextArea", label="Tags", length=policy["length"], visible_lines=3,
                     description="Ticket tags from the helpdesk (migrated), '; '-separated")]


def tag_value(source_key: str, tags: list[str], policy: Optional[dict[str, Any]],
              name_of: Callable[[str], Optional[str]]) -> tuple[Optional[str], Optional[str], list[dict[str, Any]]]:
    """(field, value, flags) for a ticket's tags. ``name_of`` turns a tag key ("tag:7") into its name."""
    names: list[str] = []
    seen: set[str] = set()
    for t in tags or []:
        name = (name_of(t) if isinstance(t, str) and t.startswith("tag:") else None) or str(t)
        name = " ".join(name.split())
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    if not names:
        return (policy or {}).get("field"), None, []
    if policy is None:
        return None, None, [{"source_key": source_key, "code": "tags_not_loaded", "field": "tags", "severity": "info",
                             "reason": f"{len(names)} tag(s) not loaded: no Case field is configured for tags "
                                       "(mapping policy ticket_tags)", "original": names[:50]}]
    flags: list[dict[str, Any]] = []
    kept: list[str] = []
    left: list[str] = []
    if policy["as"] == "multipicklist":
        sep, total_max = ";", MULTI_TOTAL_MAX
        for n in names:
            if ";" in n:
                fixed = n.replace(";", ",")
                flags.append({"source_key": source_key, "code": "tag_changed", "field": policy["field"],
                              "severity": "info", "reason": "';' separates multi-select values: replaced by ','",
                              "original": n, "loaded_as": fixed})
                n = fixed
            if len(n) > VALUE_MAX:
                left.append(n)
                flags.append({"source_key": source_key, "code": "tag_too_long", "field": policy["field"],
                              "severity": "warning", "reason": f"a multi-select value holds {VALUE_MAX} characters: "
                              "tag not loaded", "original": n})
                continue
            kept.append(n)
    else:
        sep, total_max = TEXT_SEPARATOR, policy["length"]
        kept = names
    fits: list[str] = []
    size = 0
    for n in kept:
        extra = len(n) + (len(sep) if fits else 0)
        if size + extra > total_max or (policy["as"] == "multipicklist" and len(fits) >= MULTI_SELECTED_MAX):
            left.append(n)
            continue
        fits.append(n)
        size += extra
    over = [n for n in left if len(n) <= VALUE_MAX or policy["as"] == "text"]
    if over:
        flags.append({"source_key": source_key, "code": "tags_overflow", "field": policy["field"],
                      "severity": "warning", "original": over[:50],
                      "reason": f"{len(over)} tag(s) left out: the field holds {total_max} characters"
                                + (f" and {MULTI_SELECTED_MAX} values" if policy["as"] == "multipicklist" else "")
                                + f" ({len(fits)} loaded)"})
    return policy["field"], sep.join(fits) or None, flags
