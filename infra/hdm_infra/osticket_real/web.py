"""A small browser for osTicket's web UI: a cookie session, CSRF tokens and HTML form serialisation.

osTicket's dialogs name their fields by a per-session hash, so forms are filled the way a browser fills them:
read the page, serialise the form with its current values, change the controls found by their label, post it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import requests

TIMEOUT_S = 60
_CSRF_RE = re.compile(r'name="__CSRFToken__"\s+value="([^"]+)"|<meta name="csrf_token" content="([^"]+)"')


class WebError(RuntimeError):
    """osTicket answered with an error where the recorder expected success."""


@dataclass
class Control:
    tag: str  # input | select | textarea
    name: str
    type: str = ""
    value: str = ""
    checked: bool = False
    label: str = ""  # text of the nearest preceding <label>/<th>/<td> before the control
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # (value, text, selected)


@dataclass
class Form:
    attrs: dict[str, str]
    controls: list[Control] = field(default_factory=list)

    def values(self) -> list[tuple[str, str]]:
        """What a browser would submit (checked boxes, selected options, text values); no submit buttons."""
        out: list[tuple[str, str]] = []
        for c in self.controls:
            if not c.name:
                continue
            if c.tag == "input":
                if c.type in ("checkbox", "radio"):
                    if c.checked:
                        out.append((c.name, c.value or "on"))
                elif c.type in ("submit", "button", "reset", "file", "image"):
                    continue
                else:
                    out.append((c.name, c.value))
            elif c.tag == "select":
                chosen = [o for o in c.options if o[2]] or c.options[:1]
                out.extend((c.name, o[0]) for o in chosen)
            else:
                out.append((c.name, c.value))
        return out

    def by_label(self, text: str, tag: str | None = None) -> Control:
        for c in self.controls:
            if text.lower() in c.label.lower() and (tag is None or c.tag == tag) and c.name:
                return c
        raise WebError(f"no control labelled {text!r} ({tag}) in form {self.attrs}: "
                       f"{[(c.tag, c.label) for c in self.controls]}")

    def first(self, tag: str, type_: str | None = None) -> Control:
        for c in self.controls:
            if c.tag == tag and (type_ is None or c.type == type_) and c.name:
                return c
        raise WebError(f"no {tag} control in form {self.attrs}")


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Control | None = None
        self._option: list[Any] | None = None
        self._textarea: Control | None = None
        self._label_parts: list[str] = []
        self._in_label = False
        self._last_label = ""

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attrs_list}
        if tag == "form":
            self._form = Form(attrs=attrs)
            self.forms.append(self._form)
            return
        if tag in ("label", "th", "td", "span", "div") and not self._in_label and tag == "label":
            self._in_label = True
            self._label_parts = []
        if self._form is None:
            return
        if tag == "input":
            self._form.controls.append(Control("input", attrs.get("name", ""), attrs.get("type", "text").lower(),
                                               attrs.get("value", ""), "checked" in attrs, self._last_label))
        elif tag == "select":
            self._select = Control("select", attrs.get("name", ""), label=self._last_label)
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = [attrs.get("value"), "", "selected" in attrs]
            self._select.options.append(("", "", False))
        elif tag == "textarea":
            self._textarea = Control("textarea", attrs.get("name", ""), label=self._last_label)
            self._form.controls.append(self._textarea)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._in_label:
            self._in_label = False
            self._last_label = " ".join("".join(self._label_parts).split())
        elif tag == "option" and self._select is not None and self._option is not None:
            value, text, selected = self._option
            self._select.options[-1] = (value if value is not None else text.strip(), text.strip(), selected)
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self._label_parts.append(data)
        if self._option is not None:
            self._option[1] += data
        if self._textarea is not None:
            self._textarea.value += data


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def find_form(html: str, **match: str) -> Form:
    """The first form whose attributes contain every given value (substring match), e.g. action="assign"."""
    for form in parse_forms(html):
        if all(v in form.attrs.get(k, "") for k, v in match.items()):
            return form
    raise WebError(f"no form with {match}; forms: {[f.attrs for f in parse_forms(html)]}")


class Browser:
    """One cookie session against an osTicket served at ``base`` (e.g. http://127.0.0.1:8080/)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/") + "/"
        self.http = requests.Session()
        self.token = ""

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        resp = self.http.get(self.url(path), timeout=TIMEOUT_S, **kwargs)
        self._remember_token(resp.text)
        return resp

    def post(self, path: str, data: Any = None, ajax: bool = False, expect: tuple[int, ...] = (200, 201, 302),
             **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if ajax:
            headers.update({"X-CSRFToken": self.token, "X-Requested-With": "XMLHttpRequest"})
        if isinstance(data, dict) and "__CSRFToken__" not in data and not ajax:
            data = {"__CSRFToken__": self.token, **data}
        elif isinstance(data, list) and not ajax and not any(k == "__CSRFToken__" for k, _ in data):
            data = [("__CSRFToken__", self.token), *data]
        resp = self.http.post(self.url(path), data=data, headers=headers, timeout=TIMEOUT_S, **kwargs)
        if resp.status_code not in expect:
            raise WebError(f"POST {path} -> {resp.status_code}: {resp.text[:800]}")
        self._remember_token(resp.text)
        return resp

    def _remember_token(self, html: str) -> None:
        m = _CSRF_RE.search(html or "")
        if m:
            self.token = m.group(1) or m.group(2)


def page_errors(html: str) -> list[str]:
    """osTicket's visible error banners / field errors on a page."""
    found = re.findall(r'<div id="msg_error"[^>]*>(.*?)</div>', html, re.S)
    found += re.findall(r'class="error"[^>]*>([^<]+)<', html)
    return [" ".join(re.sub(r"<[^>]+>", " ", f).split()) for f in found if f.strip()]
