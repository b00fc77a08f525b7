"""Inline images of a thread entry: each ``<img src="cid:KEY">`` matched to the file the ticket carries.

osTicket rewrites every inline image of a stored body to ``cid:<file.key>`` and links the file to the entry as
an ``attachment`` row with ``inline=1`` (``ThreadEntry::create``, include/class.thread.php); it resolves the key
against all files when it shows the page (``Format::viewableImages``). An image is carried when a file with that
key is linked to the entry itself or to an earlier visible entry of the same thread (a reply quoting an earlier
image); one whose key matches no such file is truly missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Optional, Protocol

from hdm.model import key
from hdm.threads.body import find_cids


class _File(Protocol):
    attachment_id: str
    key: Optional[str]


def file_keys(files: Iterable[_File]) -> dict[str, str]:
    """``file.key`` → attachment key of the linked files that have a file row."""
    return {f.key: key("attachment", f.attachment_id) for f in files if f.key}


def match_inline_images(body: Optional[str], own: Mapping[str, str], earlier: Mapping[str, str]
                        ) -> tuple[dict[str, str], list[str]]:
    """(cid → attachment key of each image found, cids that name no file of the entry or its thread)."""
    if not body or "cid:" not in body:
        return {}, []
    found: dict[str, str] = {}
    missing: list[str] = []
    for cid in find_cids(body):
        att = own.get(cid) or earlier.get(cid)
        if att is None:
            missing.append(cid)
        else:
            found[cid] = att
    return found, missing
