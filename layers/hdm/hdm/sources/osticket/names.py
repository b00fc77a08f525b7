"""People's names as osTicket's pages print them (``PersonsName`` in include/class.user.php).

A user's name is stored as entered (``user.name``); an agent's as first and last name. Each is printed through a
name format chosen in the admin panel: ``client_name_format`` (default ``original``, as entered) and
``agent_name_format`` (default ``full``, first and last). A user without a name shows the local part of the
default e-mail address.
"""

from __future__ import annotations

from typing import Optional

USER_DEFAULT_FORMAT = "original"
AGENT_DEFAULT_FORMAT = "full"
FORMATS = frozenset({"first", "last", "full", "legal", "lastfirst", "formal", "short", "shortformal", "complete",
                     "original"})
_PHP_BLANKS = " \t\n\r\0\x0b"


def split_name(name: str) -> dict[str, str]:
    """Salutation, first, middle, last and suffix, split on single spaces the way osTicket splits them
    (a word with a period first is a salutation, last is a suffix; a lone dotted word splits on its periods)."""
    words = name.split(" ")
    if len(words) == 1 and "." in words[0]:
        words = name.split(".")

    def at(i: int) -> str:
        return words[i] if 0 <= i < len(words) else ""

    salutation, first = ("", at(0)) if "." not in at(0) else (at(0), at(1))
    suffix = at(len(words) - 1) if "." in at(len(words) - 1) else ""
    start = 2 if salutation else 1
    end = len(words) - 2 if suffix else len(words) - 1
    middle = [at(i) for i in range(start, end + 1)]
    if len(middle) > 1:
        return {"salutation": salutation, "first": first, "middle": " ".join(middle[:-1]), "last": middle[-1],
                "suffix": suffix}
    return {"salutation": salutation, "first": first, "middle": "", "last": middle[0] if middle else "",
            "suffix": suffix}


def _initial(word: str) -> str:
    return f"{word[0]}." if word else ""


def render(parts: dict[str, str], original: str, fmt: Optional[str]) -> str:
    """``parts`` printed in format ``fmt`` (an unknown or empty format prints the name as entered)."""
    p = {k: parts.get(k) or "" for k in ("salutation", "first", "middle", "last", "suffix")}
    fmt = fmt if fmt in FORMATS else "original"
    if fmt == "first":
        return p["first"]
    if fmt == "last":
        return p["last"]
    if fmt == "full":
        return f"{p['first']} {p['last']}".strip(_PHP_BLANKS)
    if fmt == "legal":
        return " ".join(x for x in (p["first"], _initial(p["middle"]), p["last"]) if x)
    if fmt == "lastfirst":
        text = f"{p['last']}, {p['first']}".strip(", ")
        return f"{text}, {p['suffix']}" if p["suffix"] else text
    if fmt == "formal":
        return f"{p['salutation']} {p['last']}".strip(_PHP_BLANKS)
    if fmt == "short":
        return f"{p['first']} {_initial(p['last'])}"
    if fmt == "shortformal":
        return f"{_initial(p['first'])} {p['last']}"
    if fmt == "complete":
        return " ".join(x for x in (p["salutation"], p["first"], _initial(p["middle"]), p["last"], p["suffix"])
                        if x)
    return original


def user_name(name: Optional[str], email: Optional[str], fmt: Optional[str] = USER_DEFAULT_FORMAT) -> str:
    """A user's name as printed: the stored name (or the e-mail's local part when there is none), formatted."""
    text = name or (email or "").split("@", 1)[0]
    return render(split_name(text), text, fmt)


def agent_name(first: Optional[str], last: Optional[str], fmt: Optional[str] = AGENT_DEFAULT_FORMAT) -> str:
    """An agent's name as printed (first and last are separate columns, never split)."""
    parts = {"first": first or "", "last": last or ""}
    return render(parts, f"{first or ''} {last or ''}", fmt)
