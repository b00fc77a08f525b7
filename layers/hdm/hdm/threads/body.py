"""Message bodies made safe for each destination: sanitised HTML and faithful plain text.

* :func:`sanitize_html` keeps the HTML a destination can show (Salesforce EmailMessage, Intercom
  conversation parts). It uses nh3 (ammonia), never regexes, and resolves inline ``cid:`` images
  through a resolver the destination provides.
* :func:`to_plain_text` writes text for destinations that show no HTML (Salesforce CaseComment):
  paragraphs stay apart, lists keep their markers, links keep their address, quotes keep ``> ``.
* :func:`text_to_html` escapes a ``format='text'`` body (as written) for HTML, line breaks kept.

Nothing here truncates: a restored 65,000+ character body comes out whole.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Optional

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

CidResolver = Callable[[str], Optional[str]]
"""Maps the key of a ``cid:KEY`` image to a URL or reference in the destination (None: unknown)."""


_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ALLOWED_ATTRIBUTES.setdefault("img", set()).update({"title"})
_ALLOWED_ATTRIBUTES.setdefault("a", set()).update({"title"})
_ALLOWED_ATTRIBUTES.setdefault("font", set()).update({"color"})
_ALLOWED_ATTRIBUTES["*"] = {"style", "dir", "lang"}
_STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "text-decoration", "text-align",
    "white-space", "margin-left", "padding-left", "border", "border-left", "vertical-align",
}
_URL_SCHEMES = set(nh3.ALLOWED_URL_SCHEMES) | {"cid"}
_DROP_WITH_CONTENT = {"script", "style", "title", "head"}


def find_cids(html: str) -> list[str]:
    """The keys of every ``cid:`` image in a body, in order, without duplicates."""
    if not html or "cid:" not in html:
        return []
    seen: dict[str, None] = {}
    for img in LexborHTMLParser(html).css("img[src]"):
        src = (img.attributes.get("src") or "").strip()
        if src[:4].lower() == "cid:" and len(src) > 4:
            seen.setdefault(src[4:], None)
    return list(seen)


def sanitize_html(html: str, cid_resolver: CidResolver | None = None) -> str:
    """Safe HTML for a destination that keeps HTML.

    Scripts, event handlers, forms and unknown tags go; inline styles keep only harmless properties.
    ``<img src="cid:KEY">`` becomes the resolver's URL; without a resolver, or when it returns None,
    the ``src`` is dropped (the ``alt`` stays) and :func:`find_cids` tells the caller what was missing.
    """
    if not html:
        return ""

    def attribute_filter(tag: str, attr: str, value: str) -> Optional[str]:
        if tag == "img" and attr == "src" and value[:4].lower() == "cid:":
            return cid_resolver(value[4:]) if cid_resolver else None
        return value

    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_STYLE_PROPERTIES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    ).strip()


_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def decode_entities(text: str) -> str:
    """Each complete character reference (``&gt;``, ``&#39;``, ``&#x2014;``) as its character, once.

    This is what a browser shows of text osTicket printed through ``htmlspecialchars`` with ``double_encode``
    off: complete references pass through and are decoded; anything else (a bare ``&``, ``&copy`` without its
    semicolon) was escaped and reads as typed. Unknown names stay as they are.
    """
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: html_lib.unescape(m.group(0)), text)


def decode_stored_text(raw: str) -> str:
    """A ``format='text'`` body as osTicket shows it: the text a person typed.

    osTicket stores plain-text bodies entity-escaped (``TextThreadEntryBody::getClean`` runs ``htmlspecialchars``
    with ``double_encode`` off) and shows them through the same escaping, which leaves entities alone, so the
    browser decodes each entity exactly once: ``&gt;`` reads ``>``, ``&amp;gt;`` reads ``&gt;``. Decoded here the
    same way, once; line breaks are kept (CRLF becomes LF).
    """
    if not raw:
        return ""
    return decode_entities(raw.replace("\r\n", "\n").replace("\r", "\n"))


_SPACES = re.compile(r"\s+")


def display_title(title: Optional[str]) -> str:
    """An entry title on one line. ``Message.title`` is already decoded at extraction (osTicket stores titles
    entity-escaped; the source decodes them once), so nothing here decodes again: ``&amp;`` in a title is text."""
    if not title:
        return ""
    return _SPACES.sub(" ", title).strip()


def text_to_html(text: str) -> str:
    """Decoded plain text (:func:`decode_stored_text`) as HTML: escaped, line breaks kept (as osTicket shows it)."""
    return f'<div style="white-space:pre-wrap">{html_lib.escape(text, quote=False)}</div>'


# -- plain text ----------------------------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "aside", "nav", "main", "address", "figure",
    "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "center", "details", "summary",
    "form", "fieldset", "body", "html", "caption",
}
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript", "-comment", "-doctype"}
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")


class _TextWriter:
    """Collects inline text into lines under a stack of prefixes (quotes, list indentation)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.prefixes: list[list[str]] = []  # each entry: [first-line prefix, continuation prefix]
        self.blank_pending = False

    def _prefix(self) -> str:
        out = []
        for entry in self.prefixes:
            out.append(entry[0])
            entry[0] = entry[1]  # a list marker is printed once, then indentation follows
        return "".join(out)

    def _quote_prefix(self) -> str:
        return "".join(entry[1] for entry in self.prefixes if entry[1].startswith(">")).rstrip()

    def _emit(self, text: str) -> None:
        if self.blank_pending and self.lines and self.lines[-1].strip(" >"):
            self.lines.append(self._quote_prefix())
        self.blank_pending = False
        self.lines.append(self._prefix() + text)

    def text(self, value: str) -> None:
        self.buf.append(value)

    def flush(self) -> None:
        if not self.buf:
            return
        joined = _WHITESPACE.sub(" ", "".join(self.buf)).replace("\xa0", " ").strip()
        self.buf.clear()
        if joined:
            self._emit(joined)

    def line_break(self) -> None:
        if self.buf and "".join(self.buf).strip():
            self.flush()
        else:
            self.buf.clear()
            self._emit("")

    def block(self) -> None:
        self.flush()
        self.blank_pending = True

    def separate(self) -> None:
        """Write a pending blank line now, under the current prefixes (before entering a quote)."""
        self.flush()
        if self.blank_pending and self.lines and self.lines[-1].strip(" >"):
            self.lines.append(self._quote_prefix())
        self.blank_pending = False

    def raw_lines(self, text: str) -> None:
        self.flush()
        for line in text.replace("\r\n", "\n").split("\n"):
            self._emit(line.rstrip())

    def result(self) -> str:
        self.flush()
        lines = [line.rstrip() for line in self.lines]
        while lines and not lines[0].strip(" >"):
            lines.pop(0)
        while lines and not lines[-1].strip(" >"):
            lines.pop()
        out: list[str] = []
        for line in lines:  # never more than one blank line in a row
            if not line.strip(" >") and out and not out[-1].strip(" >"):
                continue
            out.append(line)
        return "\n".join(out)


def _label_for_image(node: LexborNode, cid_names: Callable[[str], Optional[str]] | None) -> str:
    alt = (node.attributes.get("alt") or "").strip()
    src = (node.attributes.get("src") or "").strip()
    name = None
    if src[:4].lower() == "cid:" and cid_names is not None:
        name = cid_names(src[4:])
    label = alt or name or ""
    return f"[image: {label}]" if label else "[image]"


def _inline_text(node: LexborNode) -> str:
    return _WHITESPACE.sub(" ", node.text(deep=True) or "").strip()


def _walk(node: LexborNode, w: _TextWriter, cid_names: Callable[[str], Optional[str]] | None) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            w.text(child.text(deep=False) or "")
        elif tag in _SKIP_TAGS:
            continue
        elif tag == "br":
            w.line_break()
        elif tag in _BLOCK_TAGS:
            w.block()
            _walk(child, w, cid_names)
            w.block()
        elif tag == "blockquote":
            w.block()
            w.separate()
            w.prefixes.append(["> ", "> "])
            _walk(child, w, cid_names)
            w.flush()
            w.prefixes.pop()
            w.block()
        elif tag in ("ul", "ol"):
            _write_list(child, w, cid_names, ordered=tag == "ol")
        elif tag == "li":  # a list item outside a list
            w.flush()
            w.prefixes.append(["- ", "  "])
            _walk(child, w, cid_names)
            w.flush()
            w.prefixes.pop()
        elif tag == "pre":
            w.block()
            w.raw_lines(child.text(deep=True) or "")
            w.block()
        elif tag == "table":
            _write_table(child, w, cid_names)
        elif tag == "hr":
            w.block()
            w._emit("----")
            w.block()
        elif tag == "img":
            w.text(_label_for_image(child, cid_names))
        elif tag == "a":
            _walk(child, w, cid_names)
            href = (child.attributes.get("href") or "").strip()
            shown = _inline_text(child)
            target = href[7:] if href.lower().startswith("mailto:") else href
            if href and not href.startswith("#") and target and target != shown and href != shown:
                w.text(f" ({target})")
        else:
            _walk(child, w, cid_names)


def _write_list(node: LexborNode, w: _TextWriter, cid_names, ordered: bool) -> None:
    w.flush()
    if not w.prefixes:
        w.block()
    start = node.attributes.get("start") if ordered else None
    number = int(start) if start and start.isdigit() else 1
    for item in node.iter(include_text=False):
        if item.tag in ("ul", "ol"):
            _write_list(item, w, cid_names, ordered=item.tag == "ol")
            continue
        marker = f"{number}. " if ordered else "- "
        number += 1
        w.prefixes.append([marker, " " * len(marker)])
        _walk(item, w, cid_names)
        w.flush()
        w.prefixes.pop()
    if not w.prefixes:
        w.block()


def _write_table(node: LexborNode, w: _TextWriter, cid_names) -> None:
    w.block()
    for row in node.css("tr"):
        cells = []
        for cell in row.iter(include_text=False):
            if cell.tag in ("td", "th"):
                sub = _TextWriter()
                _walk(cell, sub, cid_names)
                cells.append(" ".join(line.strip() for line in sub.result().split("\n") if line.strip()))
        if any(cells):
            w._emit(" | ".join(cells))
    w.block()


def to_plain_text(html: str, cid_names: Callable[[str], Optional[str]] | None = None) -> str:
    """Readable plain text of an HTML body (for destinations that show no HTML).

    ``cid_names`` maps an inline image key to its file name, so images read ``[image: chart.png]``.
    """
    if not html or not html.strip():
        return ""
    tree = LexborHTMLParser(html)
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        return ""
    writer = _TextWriter()
    try:
        _walk(root, writer, cid_names)
    except RecursionError:  # markup nested deeper than the walker recurses: keep every word, lose the layout
        return _WHITESPACE.sub(" ", root.text(deep=True, separator=" ") or "").strip()
    return writer.result()
