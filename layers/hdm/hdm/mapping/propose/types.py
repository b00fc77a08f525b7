"""Field types both sides are expressed in, and which source type may land in which destination type."""

from __future__ import annotations

TYPES = ("text", "memo", "bool", "integer", "decimal", "date", "datetime", "choice", "multichoice", "phone",
         "email", "url", "reference", "other")

# source type -> destination type -> (fit 0..1, what is lost when it is not a same-type move)
COMPATIBLE: dict[str, dict[str, tuple[float, str]]] = {
    "text": {"text": (1.0, ""), "memo": (0.8, ""), "choice": (0.6, "free text into a picklist"),
             "email": (0.6, ""), "phone": (0.6, ""), "url": (0.6, "")},
    "memo": {"memo": (1.0, ""), "text": (0.6, "long text into a short text field (truncation)")},
    "bool": {"bool": (1.0, ""), "text": (0.4, "checkbox kept as text"), "choice": (0.5, "")},
    "integer": {"integer": (1.0, ""), "decimal": (0.9, ""), "text": (0.4, "number kept as text")},
    "decimal": {"decimal": (1.0, ""), "integer": (0.5, "decimals rounded"), "text": (0.4, "number kept as text")},
    "date": {"date": (1.0, ""), "datetime": (0.8, ""), "text": (0.4, "date kept as text")},
    "datetime": {"datetime": (1.0, ""), "date": (0.6, "time of day dropped"),
                 "text": (0.4, "date and time kept as text")},
    "choice": {"choice": (1.0, ""), "text": (0.5, "choice kept as text (no picklist)"), "multichoice": (0.7, "")},
    "multichoice": {"multichoice": (1.0, ""), "choice": (0.5, "multi-select into a single-select picklist"),
                    "text": (0.5, "multi-select kept as joined text")},
    "phone": {"phone": (1.0, ""), "text": (0.7, "")},
    "email": {"email": (1.0, ""), "text": (0.6, "")},
    "url": {"url": (1.0, ""), "text": (0.7, "")},
    "other": {"text": (0.5, ""), "memo": (0.5, "")},
}


def compatibility(source_type: str, target_type: str) -> tuple[float, str] | None:
    """(fit, lossy note) or ``None`` when the type gate refuses the pair."""
    return COMPATIBLE.get(source_type, COMPATIBLE["other"]).get(target_type)
