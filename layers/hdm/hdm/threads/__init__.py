"""Thread fidelity: body normalisation per destination, rendered-HTML splitting, confidence, review.

Public functions the loaders and the CLI call:

* :func:`hdm.threads.body.sanitize_html` / :func:`~hdm.threads.body.to_plain_text` /
  :func:`~hdm.threads.body.text_to_html` — bodies for HTML and plain-text destinations;
* :func:`hdm.threads.normalize.normalize_message` — one Message → :class:`NormalizedMessage`
  (``html``, ``text``, ``public``, flags), ``cid:`` images resolved through the destination;
* :func:`hdm.threads.split.split_rendered` — a rendered page → :class:`SplitResult`
  (segments/messages, events, confidence, reasons);
* :func:`hdm.threads.confidence.should_hold` — hold/pass for a ticket given a threshold and approvals.
"""

from hdm.threads.body import find_cids, sanitize_html, text_to_html, to_plain_text
from hdm.threads.confidence import DEFAULT_THRESHOLD, HoldDecision, Reason, flag_low_confidence, score, should_hold
from hdm.threads.normalize import NormalizedMessage, is_public, normalize_message
from hdm.threads.split import Segment, SplitResult, detect_page_kind, split_rendered

__all__ = [
    "DEFAULT_THRESHOLD", "HoldDecision", "NormalizedMessage", "Reason", "Segment", "SplitResult",
    "detect_page_kind", "find_cids", "flag_low_confidence", "is_public", "normalize_message", "sanitize_html",
    "score", "should_hold", "split_rendered", "text_to_html", "to_plain_text",
]
