"""Name and label similarity: normalised tokens, synonyms/abbreviations, two-sided token overlap and a sequence
ratio (difflib, deterministic). An empty normalised name scores 0 against everything (never "matches all")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources

import yaml

SYNONYM_DISCOUNT = 0.9
STOP = {"of", "the", "a", "an", "c", "hdm", "cf", "ns", "to", "at", "by", "and", "for", "in", "on"}


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, dict[str, str]]:
    text = resources.files("hdm.mapping.propose").joinpath("synonyms.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


@lru_cache(maxsize=32)
def _canon_tokens(pair: str) -> dict[str, str]:
    table = synonym_table()
    out = dict(table.get("words") or {})
    out.update((table.get("pairs") or {}).get(pair) or {})
    return {str(k).casefold(): str(v or "").casefold() for k, v in out.items()}


@lru_cache(maxsize=4096)
def tokens(name: str, pair: str | None = "") -> tuple[str, ...]:
    text = re.sub(r"__c$", "", name or "")
    text = re.sub(r"^[A-Za-z0-9]+__", "", text)  # a managed package's namespace
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text.casefold()) if w and w not in STOP]
    canon = _canon_tokens(pair) if pair is not None else {}
    out: list[str] = []
    for w in words:
        mapped = canon.get(w, w)
        out.extend(mapped.split())
    return tuple(out)


def _token_match(a: str, b: str) -> bool:
    # 0.9: a typo matches, "manager" and "managed" do not
    return a == b or (min(len(a), len(b)) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.9)


def token_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a or not b:
        return 0.0
    hits_a = sum(1 for x in a if any(_token_match(x, y) for y in b))
    hits_b = sum(1 for y in b if any(_token_match(x, y) for x in a))
    dice = (hits_a + hits_b) / (len(a) + len(b))  # two-sided: a one-token name does not cover a long one
    ratio = SequenceMatcher(None, " ".join(a), " ".join(b)).ratio()
    return max(dice, ratio * 0.75)


def name_similarity(source_names: Iterable[str], target_names: Iterable[str], pair: str = "") -> float:
    """The best of the names as spelled and (discounted: a synonym is weaker evidence) through the synonyms."""
    src, dst = [n for n in source_names if n], [n for n in target_names if n]
    raw = max((token_similarity(tokens(a, None), tokens(b, None)) for a in src for b in dst), default=0.0)
    canon = max((token_similarity(tokens(a, pair), tokens(b, pair)) for a in src for b in dst), default=0.0)
    return max(raw, SYNONYM_DISCOUNT * canon)


def value_key(value: str, pair: str = "") -> str:
    return " ".join(tokens(value, pair)) or (value or "").strip().casefold()
