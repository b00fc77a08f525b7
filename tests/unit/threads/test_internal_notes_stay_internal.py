"""Key promise: an internal note never becomes public in any destination payload.

Property-style: many generated threads, every page kind and version, some with damaged markup; after
split + normalisation, every entry that was INTERNAL in the source is INTERNAL and unpublished, and
no internal body text appears in anything public.
"""

from __future__ import annotations

import random
import re

import pytest
from hdm.model import Visibility
from hdm.sources.osticket.rendered import split_rendered
from hdm.threads import normalize_message
from hdm_infra.osticket.render import VERSIONS, RenderOptions, render
from hdm_infra.testing.threads import TIMEZONES, attachment_ref, make_thread

THREADS = 240


def _damage(html: str, rng: random.Random) -> str:
    """Markup a customer's theme or a manual edit might leave: kind classes dropped or joined by unknowns."""
    choice = rng.random()
    if choice < 0.15:
        return re.sub(r'class="thread-entry (note|system)', 'class="thread-entry', html, count=1)
    if choice < 0.3:
        return html.replace('class="thread-entry note', 'class="thread-entry custom-skin note', 1)
    if choice < 0.4:
        return html.replace('class="thread-entry note', 'class="thread-entry fancy', 1)
    return html


@pytest.mark.parametrize("seed", range(4))
def test_internal_entries_stay_internal_after_split_and_normalisation(seed: int) -> None:
    rng = random.Random(seed)
    checked_internal = 0
    for n in range(THREADS // 4):
        fx = make_thread(rng, 1000 * seed + n)
        page_kind = rng.choice(("staff", "portal", "print"))
        version = rng.choice(VERSIONS)
        tz = rng.choice(TIMEZONES)
        html = render(page_kind, fx.ticket, fx.messages, fx.attachments, fx.events,
                      RenderOptions(version=version, timezone=tz, print_notes=True))
        html = _damage(html, rng)
        result = split_rendered(html, page_kind, version, ticket=fx.ticket.key, display_tz=tz)
        source = {m.provenance.id: m for m in fx.messages}
        internal_tokens = {f"TOKEN-{m.provenance.id}-" for m in fx.messages if m.visibility is Visibility.INTERNAL}
        for seg in result.segments:
            norm = normalize_message(seg.message, fx.attachments, attachment_ref)
            token = re.search(r"TOKEN-(\d+)-", (seg.message.body_html or "") + (seg.message.body_text or ""))
            original = source.get(token.group(1)) if token else None
            if original is not None and original.visibility is Visibility.INTERNAL:
                checked_internal += 1
                assert seg.message.visibility is Visibility.INTERNAL, (page_kind, version, seg.classes)
                assert norm.public is False
            if norm.public:
                for secret in internal_tokens:
                    assert secret not in norm.html and secret not in norm.text
    assert checked_internal > 50  # the property was exercised, not vacuously true
