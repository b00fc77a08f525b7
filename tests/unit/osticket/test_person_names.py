"""Names printed as osTicket prints them (PersonsName formats; read from include/class.user.php for facts)."""

from __future__ import annotations

import pytest
from hdm.sources.osticket import names


@pytest.mark.parametrize(("name", "fmt", "shown"), [
    ("Gérard Légacy", "original", "Gérard Légacy"),
    ("Gérard Légacy", None, "Gérard Légacy"),
    ("Gérard Légacy", "bogus", "Gérard Légacy"),
    ("Mr. John Ronald Tolkien Sr.", "full", "John Tolkien"),
    ("Mr. John Ronald Tolkien Sr.", "legal", "John R. Tolkien"),
    ("Mr. John Ronald Tolkien Sr.", "complete", "Mr. John R. Tolkien Sr."),
    ("Mr. John Ronald Tolkien Sr.", "formal", "Mr. Tolkien"),
    ("Mr. John Ronald Tolkien Sr.", "lastfirst", "Tolkien, John, Sr."),
    ("Jane Doe", "short", "Jane D."),
    ("Jane Doe", "shortformal", "J. Doe"),
    ("Jane Doe", "first", "Jane"),
    ("Jane Doe", "last", "Doe"),
    ("J.Everybody", "full", "J Everybody"),
    ("Cher", "lastfirst", "Cher"),
])
def test_user_name_formats(name, fmt, shown):
    assert names.user_name(name, None, fmt) == shown
