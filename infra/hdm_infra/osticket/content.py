"""Deterministic fake content for generated osTicket data: names, subjects and HTML bodies in several scripts."""

from __future__ import annotations

import random
import re

FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena", "Mateo",
         "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoë"]
LAST = ["Adams", "Brandt", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Horvat", "Ivanova", "Jensen", "Kowalski",
        "Lindqvist", "Müller", "Novak", "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka", "Umarov", "Varga", "Weber"]
NON_LATIN_NAMES = ["王小明", "山田太郎", "김민준", "Алексей Смирнов", "Ольга Кузнецова", "محمد العلي", "فاطمة الزهراء",
                   "Νίκος Παπαδόπουλος"]
COMPANY_WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Hooli", "Vandelay", "Soylent",
                 "Tyrell", "Cyberdyne", "Aperture", "Oscorp", "Gringotts", "Monarch", "Pied Piper", "Dunder"]
COMPANY_SUFFIX = ["Ltd", "GmbH", "Inc", "SA", "AB", "LLC", "Group", "Labs"]
TOPICS = ["VPN", "printer", "invoice", "password reset", "laptop", "email", "license", "shipment", "refund", "login",
          "dashboard", "API key", "database", "backup", "Wi-Fi", "order", "subscription", "R&D report"]
PROBLEMS = ["is not working", "keeps failing", "needs an update", "question", "is slow", "shows an error",
            "request", "was charged twice", "cannot be found", "is missing"]
SENTENCES = [
    "Since this morning the {t} {p} and nobody on the team can work.",
    "Could you please have a look at the {t}? It {p} again.",
    "We tried restarting everything but the {t} still {p}.",
    "Attached is a screenshot of what we see when we open the {t}.",
    "This is blocking our month-end close, so a quick answer would help a lot.",
    "Thanks for the fast reply, the workaround helped for now.",
    "I have escalated this to second level; expect an update within one business day.",
    "Please confirm the serial number printed on the back of the device.",
]
SCRIPTS = {
    "cjk": "您好，我们的系统从今天早上开始无法登录。请尽快帮忙处理，谢谢！ログインできません。",
    "arabic": "مرحبا، لا يمكننا الوصول إلى لوحة التحكم منذ صباح اليوم. يرجى المساعدة في أقرب وقت ممكن.",
    "cyrillic": "Здравствуйте! С утра не работает вход в систему. Пожалуйста, помогите как можно скорее.",
    "greek": "Γεια σας, το σύστημα δεν λειτουργεί από σήμερα το πρωί.",
}


def person_name(rng: random.Random, non_latin_share: float = 0.05) -> str:
    if rng.random() < non_latin_share:
        return rng.choice(NON_LATIN_NAMES)
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def company_name(rng: random.Random, index: int) -> str:
    return f"{COMPANY_WORDS[index % len(COMPANY_WORDS)]} {COMPANY_SUFFIX[(index // len(COMPANY_WORDS)) % 8]} {index}"


def subject(rng: random.Random) -> str:
    return f"{rng.choice(TOPICS).capitalize()} {rng.choice(PROBLEMS)}"


def _sentence(rng: random.Random) -> str:
    return rng.choice(SENTENCES).format(t=rng.choice(TOPICS), p=rng.choice(PROBLEMS))


def plain_body(rng: random.Random) -> str:
    """A format='text' body: plain text with line breaks and characters that need escaping."""
    lines = [_sentence(rng) for _ in range(rng.randint(1, 4))]
    return "Hello,\n\n" + "\n".join(lines) + "\n\nError: <timeout> & retry > 3\n-- \nsent from my phone"


def stored_text(text: str) -> str:
    """A format='text' body as osTicket 1.11+ stores it (1.9/1.10 stored it raw): ``Format::htmlchars``
    (htmlspecialchars, ENT_COMPAT, no double encoding) - ``&`` ``<`` ``>`` ``"`` become entities, ``'`` stays.
    Recorded in tests/fixtures/osticket_real."""
    return re.sub(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)", "&amp;", text) \
        .replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def stored_title(title: str) -> str:
    """A thread entry title as osTicket stores it: ``Format::sanitize($title, true)`` (tags stripped, ``&`` as
    ``&amp;``, quotes kept), e.g. 'Printer says "toner" &amp; ' in tests/fixtures/osticket_real."""
    return re.sub(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)", "&amp;", title) \
        .replace("<", "&lt;").replace(">", "&gt;")


def html_body(rng: random.Random, rich: bool = False, script: str | None = None) -> str:
    """A sanitized HTML fragment as osTicket stores it; ``rich`` adds tables, quotes, lists and links."""
    parts = [f"<p>{_sentence(rng)}</p>" for _ in range(rng.randint(1, 3))]
    if script:
        parts.insert(0, f'<p dir="{"rtl" if script == "arabic" else "ltr"}">{SCRIPTS[script]}</p>')
    if rich:
        kind = rng.randrange(4)
        if kind == 0:
            parts.append("<table border=\"1\"><thead><tr><th>Item</th><th>Qty</th></tr></thead><tbody>"
                         f"<tr><td>{rng.choice(TOPICS)}</td><td>{rng.randint(1, 9)}</td></tr>"
                         "<tr><td>Support hours</td><td>2</td></tr></tbody></table>")
        elif kind == 1:
            parts.append(f"<blockquote><p>On Monday you wrote:</p><p>{_sentence(rng)}</p></blockquote>")
        elif kind == 2:
            parts.append("<ol><li>Open the portal</li><li>Click <strong>Settings</strong></li>"
                         f"<li>Choose <em>{rng.choice(TOPICS)}</em></li></ol><ul><li>one</li><li>two</li></ul>")
        else:
            parts.append('<p>See <a href="https://status.example.test/incidents/42" target="_blank">'
                         "the status page</a> &amp; our <a href=\"mailto:help@example.test\">help desk</a>.</p>")
    return "".join(parts)


def long_html_body(rng: random.Random, min_chars: int = 65_000) -> str:
    """A body of at least ``min_chars`` characters (osTicket stores such bodies as an inline text/html file)."""
    chunk = "".join(f"<p>{line}</p>" for line in SENTENCES)
    repeats = min_chars // len(chunk) + 2
    return f"<div><p>Log excerpt {rng.randint(1000, 9999)}:</p>" + chunk * repeats + "</div>"
