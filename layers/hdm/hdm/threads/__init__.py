"""Thread fidelity, whatever the source: body normalisation per destination, confidence, review.

Public functions the loaders and the CLI call:

* :func:`hdm.threads.body.sanitize_html` / :func:`~hdm.threads.body.to_plain_text` /
  :func:`~hdm.threads.body.text_to_html` — bodies for HTML and plain-text destinations;
* :func:`hdm.threads.normalize.normalize_message` — one Message → :class:`NormalizedMessage`
  (``html``, ``text``, ``public``, flags), ``cid:`` images resolved through the destination;
* :class:`hdm.threads.segments.SplitResult` — a thread read from a rendered page (segments/messages, events,
  confidence, reasons); osTicket's page reader is :mod:`hdm.sources.osticket.rendered`;
* :func:`hdm.threads.confidence.should_hold` — hold/pass for a ticket given a threshold and approvals.
"""

from hdm.threads.body import find_cids, sanitize_html, text_to_html, to_plain_text
from hdm.threads.confidence import DEFAULT_THRESHOLD, HoldDecision, Reason, flag_low_confidence, score, should_hold
from hdm.threads.normalize import NormalizedMessage, is_public, normalize_message
from hdm.threads.segments import Segment, SplitResult

__all__ = [
    "DEFAULT_THRESHOLD", "HoldDecision", "NormalizedMessage", "Reason", "Segment", "SplitResult",
    "find_cids", "flag_low_confidence", "is_public", "normalize_message", "sanitize_html",
    "score", "should_hold", "text_to_html", "to_plain_text",
]
