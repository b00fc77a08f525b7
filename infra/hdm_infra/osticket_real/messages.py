"""Raw RFC 822 messages the recorder pipes through osTicket's mail parser (written here, by hand)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

# a 1x1 PNG (red pixel), small enough to read in a fixture
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
TO = "Recorded Help Desk <support@example.org>"
WHEN = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def _headers(msg: EmailMessage | MIMEMultipart | MIMEText, sender: str, subject: str, msgid: str,
             in_reply_to: str | None = None, cc: str | None = None) -> None:
    msg["From"] = sender
    msg["To"] = TO
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(WHEN)
    msg["Message-ID"] = msgid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to


def html_with_inline_image(msgid: str) -> bytes:
    """multipart/related HTML whose <img> points at a cid: part, plus a text alternative."""
    cid = make_msgid(domain="mail.example.net")
    related = MIMEMultipart("related")
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("Screenshot attached inline.\n\nThe error says: disk > 90% & \"full\".", "plain", "utf-8"))
    alt.attach(MIMEText(f'<html><body><p>Screenshot attached <b>inline</b>:</p><p><img src="cid:{cid[1:-1]}" '
                        'alt="shot"></p><p>The error says: disk &gt; 90% &amp; "full".</p></body></html>',
                        "html", "utf-8"))
    related.attach(alt)
    img = MIMEImage(PNG_1PX, "png")
    img["Content-ID"] = cid
    img["Content-Disposition"] = 'inline; filename="screenshot.png"'
    related.attach(img)
    _headers(related, "Henri Html <henri.html@example.net>", "Inline screenshot of the error", msgid)
    return related.as_bytes()


def plain_latin1(msgid: str) -> bytes:
    msg = MIMEText("Bonjour,\n\nLe café du réseau ne répond plus. Température > 40°C & \"alarme\" <rouge>.\n\n"
                   "-- \nGérard Légacy\n", "plain", "iso-8859-1")
    _headers(msg, "=?iso-8859-1?q?G=E9rard_L=E9gacy?= <gerard@example.fr>",
             "=?iso-8859-1?q?R=E9seau_en_panne_=E0_l'=E9tage?=", msgid)
    return msg.as_bytes()


def plain_cp1252(msgid: str, cc: str | None = None) -> bytes:
    text = ("Hello,\r\n\r\nThe invoice shows \u201c\u20ac 1\u2019200\u201d \u2013 that\u2019s wrong.\r\n"
            "> quoted line from your last mail\r\n>> older quote\r\nRegards,\r\nWinnie\r\n")
    msg = MIMEText(text, "plain", "windows-1252")
    _headers(msg, "Winnie Windows <winnie@example.com>", "Invoice \u20ac amount wrong", msgid, cc=cc)
    return msg.as_bytes()


def reply_by_mail(msgid: str, in_reply_to: str, sender: str, subject: str, text: str) -> bytes:
    msg = MIMEText(text, "plain", "utf-8")
    _headers(msg, sender, "Re: " + subject, msgid, in_reply_to=in_reply_to)
    return msg.as_bytes()


def with_attachment(msgid: str) -> bytes:
    outer = MIMEMultipart("mixed")
    outer.attach(MIMEText("Log file attached.\nLine with <angle> brackets & ampersand.", "plain", "utf-8"))
    part = MIMEText("2025-03-14 09:00:01 ERROR disk full\n2025-03-14 09:00:02 WARN retry\n", "plain", "utf-8")
    part["Content-Disposition"] = 'attachment; filename="server log (1).txt"'
    outer.attach(part)
    _headers(outer, "Lars Logfile <lars@example.com>", "Server log attached", msgid)
    return outer.as_bytes()


def empty_body(msgid: str) -> bytes:
    msg = MIMEText("\n", "plain", "utf-8")
    _headers(msg, "Erin Empty <erin@example.com>", "(no text, subject only)", msgid)
    return msg.as_bytes()


def big_html(msgid: str, size: int = 80_000) -> bytes:
    rows = []
    i = 0
    while sum(len(r) for r in rows) < size:
        rows.append(f"<tr><td>{i}</td><td>row {i} &amp; value &lt;{i}&gt;</td></tr>")
        i += 1
    html = "<html><body><p>Big table follows</p><table>" + "".join(rows) + "</table></body></html>"
    msg = MIMEText(html, "html", "utf-8")
    _headers(msg, "Bigsby Body <bigsby@example.com>", f"Body larger than 64 KB ({len(html)} bytes HTML)", msgid)
    return msg.as_bytes()
