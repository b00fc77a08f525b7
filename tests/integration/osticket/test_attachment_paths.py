"""The source database never chooses a local path: filesystem attachments are read only inside the configured
folders. A row naming an absolute path elsewhere, ``../``, or a symlink leading out is refused and flagged, and
nothing of that file reaches the stage."""

from __future__ import annotations

import os

import pytest

SECRET = b"AWS_SECRET_ACCESS_KEY=do-not-upload\n"


def _file_row(db, name: str, *, bk: str, key: str = "kdummy", attrs: str | None = None, size: int = 10) -> int:
    return db.seed.insert("file", ft="T", bk=bk, type="text/plain", size=size, key=key, signature=key[:32],
                          name=name, attrs=attrs, created="2021-03-01 10:00:00")


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "uploads"
    legacy = tmp_path / "legacy16"
    outside = tmp_path / "outside"
    for folder in (root, legacy, outside):
        folder.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    return root, legacy, outside


def _extract(db, blobs, **kwargs):
    with db.source(**kwargs) as src:
        chunks = [c for c in src.plan(100) if c.object_type == "attachment"]
        atts = {}
        flags = {}
        for c in chunks:
            for a in src.extract(c, blobs):
                atts[a.provenance.id] = a
            for code, n in src.last_stats.flags.items():
                flags[code] = flags.get(code, 0) + n
    return atts, flags


def _refused(att) -> str:
    found = [f for f in att.flags if f.code == "attachment_path_refused"]
    assert found, [(f.code, f.reason) for f in att.flags]
    assert found[0].severity == "error" and found[0].field == "blob"
    assert att.blob is None and att.sha256 is None
    return found[0].reason


def test_rows_naming_paths_outside_the_configured_folders_are_refused_and_flagged(seeded_db, blobs, layout):
    root, legacy, outside = layout
    db = seeded_db()
    s = db.seed
    user = s.user("Carol", "carol@example.test")
    ticket = s.ticket(user, "files")
    entry = s.entry(ticket, "M", "<p>see files</p>", "2021-03-01 10:00:00", user_id=user, poster="Carol")
    # a legitimate 1.6 file inside a configured root, and a legitimate filesystem-plugin file
    (legacy / "ok.txt").write_bytes(b"legacy bytes")
    ok6 = s.attach(ticket, entry, _file_row(db, "ok.txt", bk="6", attrs=str(legacy / "ok.txt"), size=12))
    (root / "k").mkdir()
    (root / "k" / "kgood").write_bytes(b"plugin bytes")
    okF = s.attach(ticket, entry, _file_row(db, "good.txt", bk="F", key="kgood", size=12))
    # hostile rows
    environ = s.attach(ticket, entry, _file_row(db, "environ.txt", bk="6", attrs="/proc/self/environ"))
    absolute = s.attach(ticket, entry, _file_row(db, "a.txt", bk="6", attrs=str(outside / "secret.txt")))
    dotdot6 = s.attach(ticket, entry, _file_row(db, "b.txt", bk="6", attrs=f"{legacy}/../outside/secret.txt"))
    relative6 = s.attach(ticket, entry, _file_row(db, "c.txt", bk="6", attrs="../outside/secret.txt"))
    dotdotF = s.attach(ticket, entry, _file_row(db, "d.txt", bk="F", key="../outside/secret.txt"))
    os.symlink(outside / "secret.txt", legacy / "link.txt")
    link6 = s.attach(ticket, entry, _file_row(db, "e.txt", bk="6", attrs=str(legacy / "link.txt")))
    (root / "s").mkdir()
    os.symlink(outside / "secret.txt", root / "s" / "slinked")
    linkF = s.attach(ticket, entry, _file_row(db, "f.txt", bk="F", key="slinked"))
    os.symlink(outside, legacy / "dirlink")
    dirlink = s.attach(ticket, entry, _file_row(db, "g.txt", bk="6", attrs=str(legacy / "dirlink" / "secret.txt")))
    os.mkfifo(legacy / "pipe")
    fifo = s.attach(ticket, entry, _file_row(db, "h.txt", bk="6", attrs=str(legacy / "pipe")))
    nul = s.attach(ticket, entry, _file_row(db, "i.txt", bk="6", attrs=f"{legacy}/ok.txt\x00.png"))

    atts, flags = _extract(db, blobs, attachments_dir=str(root), attachment_roots=[str(legacy)])

    assert blobs.blobs[atts[str(ok6)].sha256] == b"legacy bytes"
    assert blobs.blobs[atts[str(okF)].sha256] == b"plugin bytes"
    hostile = {environ: "/proc/self/environ", absolute: str(outside / "secret.txt"),
               dotdot6: f"{legacy}/../outside/secret.txt", relative6: "../outside/secret.txt",
               dotdotF: "../outside/secret.txt", link6: str(legacy / "link.txt"), linkF: "slinked",
               dirlink: str(legacy / "dirlink" / "secret.txt")}
    for att_id, claimed in hostile.items():
        reason = _refused(atts[str(att_id)])
        assert claimed in reason, reason  # the report shows what the row named
    assert "not a regular file" in _refused(atts[str(fifo)])
    assert "NUL" in _refused(atts[str(nul)])
    assert not any(SECRET in data for data in blobs.blobs.values())
    assert not any(b"PATH=" in data for data in blobs.blobs.values())
    assert flags["attachment_path_refused"] == len(hostile) + 2  # counted in the chunk's stats (the report's)


def test_without_a_configured_folder_no_filesystem_file_is_read(seeded_db, blobs, layout):
    root, legacy, outside = layout
    db = seeded_db()
    s = db.seed
    user = s.user("Carol", "carol@example.test")
    ticket = s.ticket(user, "files")
    entry = s.entry(ticket, "M", "<p>x</p>", "2021-03-01 10:00:00", user_id=user, poster="Carol")
    att = s.attach(ticket, entry, _file_row(db, "a.txt", bk="6", attrs=str(outside / "secret.txt")))
    atts, _ = _extract(db, blobs)  # old code read the absolute path with no folder at all
    assert "no attachment folder is configured" in _refused(atts[str(att)])
    assert not blobs.blobs
    # attachments_dir alone is not a root for '6' paths outside it
    atts, _ = _extract(db, blobs, attachments_dir=str(root))
    _refused(atts[str(att)])
    assert not blobs.blobs
