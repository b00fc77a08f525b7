"""The emulator's settings (``/__admin/knobs``, partial JSON documents merged by the kit's ``merge_knobs``)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from hdm_infra.emulators.kit import FaultDice, Faults

DEFAULT_ADMINS = [
    {"id": "991267001", "name": "Ada Admin", "email": "ada@support.example", "job_title": "Support lead",
     "team_ids": [5001]},
    {"id": "991267002", "name": "Ben Agent", "email": "ben@support.example", "job_title": "Agent",
     "team_ids": [5001]},
]
DEFAULT_TEAMS = [{"id": "5001", "name": "Support", "admin_ids": [991267001, 991267002]}]


@dataclass
class IntercomFaults(Faults):
    """The kit's faults (429, 503, connection resets before the call, slow answers) plus ``rate_500`` (a 500
    ``server_error`` instead of the call) and ``rate_reset_after`` (the call is done, then the connection is reset)."""

    rate_500: float = 0.0
    # the call is carried out, then the connection is reset: the client cannot tell whether its write happened
    rate_reset_after: float = 0.0


class IntercomFaultDice(FaultDice):
    """The kit's seeded stream, plus a second seeded stream (seed + 1) for ``rate_500`` and ``rate_reset_after``."""

    def __init__(self, faults: IntercomFaults) -> None:
        super().__init__(faults)
        self.rate_500 = faults.rate_500
        self.rate_reset_after = faults.rate_reset_after
        self._stream_500 = random.Random(faults.seed + 1)
        self._lock_500 = threading.Lock()

    def server_error(self, family: str) -> bool:
        return self._draw(family, self.rate_500)

    def reset_after(self, family: str) -> bool:
        return self._draw(family, self.rate_reset_after)

    def _draw(self, family: str, rate: float) -> bool:
        if not rate or not self.applies(family):
            return False
        with self._lock_500:
            return self._stream_500.random() < rate


@dataclass
class IntercomKnobs:
    # 10,000 calls/min per private app, "evenly distributed into 10-second windows" (notes §1.2): the
    # X-RateLimit-Limit header and the 429 threshold are ceil(rate_per_minute / 6) per 10-second window
    rate_per_minute: int = 10_000
    # the workspace's quota shared by all its private apps (25,000/min, notes §1.2) and how many calls the other
    # (simulated) apps make in every 10-second window: this app is refused once the workspace's window is spent
    # the rate window: Intercom's is 10 seconds; tests may shorten it (1, 2 or 5) to see a reset without waiting long
    window_seconds: int = 10
    workspace_rate_per_minute: int = 25_000
    other_apps_per_window: int = 0
    # plan: whether private notes (message_type "note") are available; False refuses notes with 403
    private_notes: bool = True
    # search lag (notes §1.3: new records take "a few minutes" to appear in search): a record is found by the
    # search endpoints only once both this many seconds and this many API calls have passed since it was written
    search_lag_seconds: float = 0.0
    search_lag_calls: int = 0
    # attachments on parts (notes §1.4): at most 10 per reply; files bigger than this (decoded bytes) are refused
    attachment_max_bytes: int = 100 * 1024 * 1024
    attachment_max_count: int = 10
    # the spec describes attachment_urls as image URLs (notes §1.4; whether other files are refused is UNVERIFIED):
    # True refuses a URL whose name is not an image type
    attachment_urls_images_only: bool = False
    # a company scroll left unused this long expires (spec GET /companies/scroll: 1 minute)
    scroll_idle_seconds: float = 60.0
    # reads return at most this many parts of a ticket or conversation, the most recent ones (spec: "Hard limit of
    # 500 parts"); total_count still counts them all
    max_parts_returned: int = 500
    # the Intercom-Version the workspace's app defaults to when a request sends none
    default_version: str = "2.16"
    # also validate every request and response with openapi-core (the full validator) and record any disagreement
    # with the compiled validators as a validation failure; the test fixture turns it on (~10-40 ms a call)
    cross_check: bool = False
    # test-only: operationIds whose successful response body the emulator corrupts before validating it, to prove
    # that response validation catches a bad response (the client then gets a 500)
    corrupt_responses: list[str] = field(default_factory=list)
    faults: IntercomFaults = field(default_factory=IntercomFaults)
