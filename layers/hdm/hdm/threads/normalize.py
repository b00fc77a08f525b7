"""One canonical message made ready for a destination: safe HTML, plain text, publish decision.

The loaders call :func:`normalize_message` per message. It never decides visibility from the body:
``public`` is True only for a message whose canonical visibility is PUBLIC, so an internal note (or a
message whose visibility is missing or unknown) can never be published.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Optional

from hdm.model import Attachment, Flag, Message, MessageKind, Visibility
from hdm.threads.body import find_cids, sanitize_html, text_to_html, to_plain_text

AttachmentUrl = Callable[[Attachment], Optional[str]]
"""The destination's reference for a staged attachment (a URL, a ContentVersion download path …)."""


@dataclass
class NormalizedMessage:
    """What a destination needs of one message; ``public`` is the only publish switch."""

    key: str
    ticket: str
    position: int
    kind: MessageKind
    visibility: Visibility
    public: bool
    author_name: Optional[str]
    created_at: Optional[str]
    html: str  # sanitised HTML (EmailMessage.HtmlBody, Intercom part body)
    text: str  # faithful plain text (CaseComment.CommentBody)
    empty: bool = False
    attachment_names: list[str] = field(default_factory=list)  # non-inline files, in order
    flags: list[Flag] = field(default_factory=list)


def is_public(message: Message) -> bool:
    """A message may be shown to the customer only when its visibility is exactly PUBLIC."""
    return isinstance(message.visibility, Visibility) and message.visibility is Visibility.PUBLIC


def source_html(message: Message) -> str:
    """The body as HTML, whatever its format (``text`` bodies escaped). The body is the one a person wrote:
    a source applies its system's storage rules (escaped text, markers for empty) at extraction."""
    if message.body_format == "text":
        raw = stored_text(message)
        return text_to_html(raw) if raw.strip() else ""
    raw = message.body_html if message.body_html is not None else ""
    if not raw and message.body_text:
        return text_to_html(message.body_text)
    return raw


def stored_text(message: Message) -> str:
    """The text of a ``format='text'`` message, as written (no decoding here)."""
    return message.body_text if message.body_text is not None else (message.body_html or "")


def cid_index(attachments: Iterable[Attachment]) -> dict[str, Attachment]:
    """``cid`` key → attachment (osTicket's key is ``file.key``, kept in ``Attachment.content_id``)."""
    return {a.content_id: a for a in attachments if a.content_id}


def normalize_message(
    message: Message,
    attachments: Iterable[Attachment] = (),
    attachment_url: AttachmentUrl | None = None,
) -> NormalizedMessage:
    """Sanitised HTML and plain text of one message, ``cid:`` images resolved to its ticket's files.

    ``attachments`` are the ticket's attachment records (any order; inline ones included) when the caller has
    them; the message's own ``inline_images`` (cid → attachment key, recorded at extraction) count as well.
    An image whose cid names none of those files is truly missing: it loses its ``src`` and the message gets a
    ``cid_unresolved`` warning. ``attachment_url`` (destinations that keep HTML) gives the destination reference
    of an attachment; a known file it has no URL for loses its ``src`` too and is reported as such. Without
    ``attachment_url`` (plain-text destinations: the file is uploaded beside the comment) a known file is resolved.
    """
    atts = list(attachments)
    by_cid = cid_index(atts)
    flags: list[Flag] = []
    html = source_html(message)
    empty = not html.strip()
    if empty:
        flags.append(Flag("empty_body", "message body is empty in the source", field="body", severity="info"))

    def resolve(cid: str) -> Optional[str]:
        att = by_cid.get(cid)
        if att is None or attachment_url is None:
            return None
        return attachment_url(att)

    cids = find_cids(html)
    carried = message.inline_images or {}
    missing = [cid for cid in cids if cid not in by_cid and cid not in carried]
    if missing:
        flags.append(Flag(
            "cid_unresolved",
            f"{len(missing)} inline image(s) reference no file of this ticket; shown without the image",
            field="body",
        ))
    if attachment_url is not None:
        no_url = [cid for cid in cids if cid not in missing and resolve(cid) is None]
        if no_url:
            flags.append(Flag(
                "cid_unresolved",
                f"{len(no_url)} inline image(s) have a file but the destination has no URL for it",
                field="body",
            ))

    def cid_name(cid: str) -> Optional[str]:
        att = by_cid.get(cid)
        return att.file_name if att else None

    safe_html = sanitize_html(html, resolve)
    text = to_plain_text(html, cid_name)
    if message.body_format == "text" and not empty:
        # the escaped wrapper is ours: read the text back exactly rather than through the HTML walker
        text = stored_text(message).strip("\n")
    if not empty and not text.strip() and not cids:
        flags.append(Flag("body_without_text", "body has markup but no readable text", field="body", severity="info"))
    own = set(message.attachments)
    names = [a.file_name for a in atts if a.key in own and not a.inline]
    return NormalizedMessage(
        key=message.key,
        ticket=message.ticket,
        position=message.position,
        kind=message.kind,
        visibility=message.visibility,
        public=is_public(message),
        author_name=message.author_name,
        created_at=message.created_at,
        html=safe_html,
        text=text,
        empty=empty,
        attachment_names=names,
        flags=flags,
    )


def escape_text(text: str) -> str:
    """HTML-escape a plain string (names, titles) for a destination that takes HTML."""
    return html_lib.escape(text, quote=True)
