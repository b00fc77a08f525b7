"""Reading rendered osTicket pages (staff page, client portal, print view): the path for when the database
cannot be reached, and the thread review command (``hdm threads validate``) the osTicket connector offers.

- :func:`split_rendered` / :func:`detect_page_kind` (``split.py``, with the per-version markup facts of
  ``markup.py``): one page into canonical messages and events (:class:`hdm.threads.segments.SplitResult`);
- :func:`load_rendered_threads` (``pages.py``): a folder of pages into the review's ticket threads;
- ``cli.py``: the ``hdm threads`` command group.

The generic body handling, confidence and review page stay in :mod:`hdm.threads`.
"""

from hdm.sources.osticket.rendered.pages import expected_entry_count, load_rendered_threads
from hdm.sources.osticket.rendered.split import detect_page_kind, split_rendered

__all__ = ["detect_page_kind", "expected_entry_count", "load_rendered_threads", "split_rendered"]
