"""Low-confidence tickets are flagged and held back from loading unless a person approved them."""

from __future__ import annotations

import math

from hdm.model import Provenance, Ticket
from hdm.threads import Reason, flag_low_confidence, score, should_hold


def test_low_confidence_tickets_are_held() -> None:
    decision = should_hold("ticket:1", 0.42, threshold=0.8)
    assert decision.hold is True and "below threshold" in decision.why


def test_confident_tickets_pass() -> None:
    assert should_hold("ticket:1", 0.8, threshold=0.8).hold is False
    assert should_hold("ticket:1", 1.0).hold is False


def test_an_approved_ticket_passes_whatever_its_score() -> None:
    assert should_hold("ticket:1", 0.1, threshold=0.8, approvals={"ticket:1"}).hold is False
    assert should_hold("ticket:2", 0.1, threshold=0.8, approvals={"ticket:1"}).hold is True


def test_a_confidence_that_is_not_a_score_is_held() -> None:
    for bad in (math.nan, -0.1, 1.5, None, "0.9"):
        assert should_hold("ticket:1", bad).hold is True  # type: ignore[arg-type]


def test_scores_multiply_what_each_reason_leaves() -> None:
    assert score([]) == 1.0
    assert score([Reason.of("missing_timestamp"), Reason.of("missing_timestamp")]) == 0.49
    assert score([Reason.of("no_entries")]) == 0.0


def test_low_confidence_puts_an_error_flag_on_the_ticket_once() -> None:
    ticket = Ticket(provenance=Provenance("osticket", "ticket", "1"))
    reasons = [Reason.of("unknown_entry_class")]
    assert flag_low_confidence([ticket], 0.4, reasons) is True
    assert flag_low_confidence([ticket], 0.4, reasons) is True
    assert [(f.code, f.severity) for f in ticket.flags] == [("split_low_confidence", "error")]
    assert "unknown_entry_class" in ticket.flags[0].reason
    other = Ticket(provenance=Provenance("osticket", "ticket", "2"))
    assert flag_low_confidence([other], 0.95, []) is False and other.flags == []
