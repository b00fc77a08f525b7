"""The emulator kit's knobs (partial documents, unknown names refused), fault dice and call counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hdm_infra.emulators.kit.counters import CallCounters
from hdm_infra.emulators.kit.knobs import FaultDice, Faults, merge_knobs


@dataclass
class Rule:
    fraction: float = 0.0
    message: str = "no"


@dataclass
class Knobs:
    page_size: int = 10
    rules: dict[str, Rule] = field(default_factory=dict, metadata={"knob_label": "rule key"})
    faults: Faults = field(default_factory=Faults, metadata={"knob_label": "fault knob"})


def test_a_partial_document_changes_only_what_it_names():
    base = merge_knobs(Knobs, {"page_size": 5, "faults": {"rate_503": 0.5, "families": ["a"]}})
    merged = merge_knobs(Knobs, {"faults": {"rate_429": 0.25}}, base)
    assert merged.page_size == 5
    assert merged.faults == Faults(rate_503=0.5, rate_429=0.25, families=["a"])
    assert merge_knobs(Knobs, {"faults": {"rate_429": 0.25}}).faults.rate_503 == 0.0  # no base: defaults


def test_nested_documents_become_dataclasses():
    knobs = merge_knobs(Knobs, {"rules": {"Case": {"fraction": 0.5}}})
    assert knobs.rules == {"Case": Rule(fraction=0.5)}
    assert isinstance(knobs.faults, Faults)


@pytest.mark.parametrize("doc,message", [({"nope": 1}, "unknown knob(s): ['nope']"),
                                         ({"faults": {"rate_999": 1}}, "unknown fault knob(s): ['rate_999']"),
                                         ({"rules": {"Case": {"bad": 1}}}, "unknown rule key(s): ['bad']")])
def test_unknown_names_are_refused_by_name(doc, message):
    with pytest.raises(ValueError) as caught:
        merge_knobs(Knobs, doc)
    assert str(caught.value) == message


def test_the_dice_are_seeded_and_keep_to_their_families():
    faults = Faults(seed=7, rate_503=0.3, rate_429=0.3, families=["sobject"])
    dice_a, dice_b = FaultDice(faults), FaultDice(faults)
    seq_a = [dice_a.request_fault("sobject") for _ in range(200)]
    seq_b = [dice_b.request_fault("sobject") for _ in range(200)]
    assert seq_a == seq_b
    assert {"503", "429", None} == set(seq_a)
    assert 40 < seq_a.count("503") < 80  # about 30 % of 200
    assert all(dice_a.request_fault("query") is None for _ in range(100))  # another family is left alone
    assert FaultDice(Faults(rate_reset=1.0)).request_fault("anything") == "reset"  # no families: every family
    assert not FaultDice(Faults()).lock_row("sobject")
    assert FaultDice(Faults(rate_lock_row=1.0)).lock_row("sobject")


def test_counters_count_per_family_and_charge_usage_outside_uncounted_families(tmp_path: Path):
    saved: list[tuple[dict[str, int], int]] = []
    counters = CallCounters({"query": 2}, 2, lambda f, u: saved.append((f, u)), uncounted=["oauth"], flush_every=3600)
    counters.count("query")
    counters.count("oauth")
    assert counters.snapshot() == {"families": {"query": 3, "oauth": 1}, "total": 4, "api_usage": 3}
    assert len(saved) == 1  # the first count flushes, the next waits for flush_every
    counters.flush()
    assert saved[-1] == ({"query": 3, "oauth": 1}, 3)
    counters.clear()
    assert counters.snapshot() == {"families": {}, "total": 0, "api_usage": 3}  # clearing families keeps usage
    counters.clear(usage=True)
    assert counters.api_used == 0 and saved[-1] == ({}, 0)
    counters.set_usage(41)
    assert saved[-1] == ({}, 41)
