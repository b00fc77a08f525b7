"""A booking the limiter refuses (it would wait longer than max_wait) changes nothing: neither the ceiling's
schedule (_tat) nor the header budget's remaining estimate, so a refused caller does not slow down or starve
the next one."""

from __future__ import annotations

import pytest
from hdm.http import RateLimiter
from hdm.http.errors import QuotaExhausted


class Clock:
    def __init__(self):
        self.mono, self.slept = 100.0, []

    def clock(self):
        return self.mono

    def wall(self):
        return 1_800_000_000.0 + self.mono

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.mono += seconds


def test_a_refused_booking_leaves_the_schedule_as_it_was():
    t = Clock()
    limiter = RateLimiter(60, 60.0, share=1.0, max_wait=0.5, clock=t.clock, wall=t.wall, sleep=t.sleep)  # 1/s
    assert limiter.acquire() == 0.0
    limiter.observe({})
    for _ in range(3):  # each would wait 1 s > 0.5 s: refused
        with pytest.raises(QuotaExhausted):
            limiter.acquire()
    t.mono += 1.0  # one interval later the next call goes at once (refused bookings took no slot)
    assert limiter.acquire() == 0.0
    assert t.slept == []


def test_a_refused_booking_leaves_the_remaining_budget_as_it_was():
    t = Clock()
    limiter = RateLimiter(1000, 60.0, share=0.8, max_wait=0.001, clock=t.clock, wall=t.wall, sleep=t.sleep)
    limiter.acquire()
    limiter.observe({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "50",
                     "X-RateLimit-Reset": str(int(t.wall()) + 60)})
    before = limiter.snapshot()["remaining_estimate"]
    with pytest.raises(QuotaExhausted):  # the ceiling's next slot is 60 ms away: more than max_wait
        limiter.acquire()
    assert limiter.snapshot()["remaining_estimate"] == before == 50
