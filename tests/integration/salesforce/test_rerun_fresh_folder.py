"""A whole re-run of the same migration in a fresh work folder (the crosswalk lost) against the same org:
upserts cover Accounts/Contacts/Cases/files; CaseComments (no external id) are found by the source reference
in their header."""

from __future__ import annotations

import pytest
from dataset import load_all, small_dataset, transform_all
from hdm.crosswalk.sqlite import SqliteCrosswalk

MIG = "mig-fresh"
OBJECTS = ("Account", "Contact", "Case", "CaseComment", "ContentVersion", "ContentDocumentLink", "Group")


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_a_re_run_in_a_fresh_folder_duplicates_nothing(make_dest, stage, sf_admin, tmp_path, bulk_threshold):
    data = small_dataset(stage)
    first = make_dest(bulk_threshold=bulk_threshold)
    first.prepare({})
    load_all(first, transform_all(first, data), SqliteCrosswalk(tmp_path / "first" / "cw.sqlite"), MIG, "run-1")
    after_first = sf_admin.counts()
    assert after_first["CaseComment"] > 0 and after_first["ContentVersion"] > 0

    again = make_dest(bulk_threshold=bulk_threshold)  # a new process, a new folder, the same org
    again.prepare({})
    fresh = SqliteCrosswalk(tmp_path / "second" / "cw.sqlite")
    results = load_all(again, transform_all(again, data), fresh, MIG, "run-2")
    after_second = sf_admin.counts()
    assert {o: after_second.get(o, 0) for o in OBJECTS} == {o: after_first.get(o, 0) for o in OBJECTS}
    comments = next(r for r in results if r.phase == "comments")
    assert comments.counts().get("created", 0) == 0 and comments.counts()["unchanged"] > 0
    # the new crosswalk knows every comment again, so rollback from this folder would find them
    loaded = [e for e in fresh.iter_migration(MIG, phase="comments") if e.state.value == "loaded"]
    assert len(loaded) == after_second["CaseComment"]


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_comments_stored_with_other_line_endings_and_trailing_spaces_are_found_not_inserted_again(
        make_dest, stage, sf_admin, sf_factory, tmp_path, bulk_threshold):
    data = small_dataset(stage)
    first = make_dest()  # sObject Collections: a Bulk CSV job with LF line endings refuses CRLF in the data
    first.prepare({})
    chunks = transform_all(first, data)
    # the org holds the bodies in another form than the next run sends: CRLF line endings, trailing whitespace
    for chunk in chunks["comments"]:
        for row in chunk:
            other_form = row["CommentBody"].replace("\n", "\r\n") + " \r\n"
            if len(other_form.encode()) <= 4000:  # a split part at the limit keeps its form (it would not fit)
                row["CommentBody"] = other_form
    load_all(first, chunks, SqliteCrosswalk(tmp_path / "first" / "cw.sqlite"), MIG, "run-1")
    stored = sf_factory().query_all("SELECT Id, CommentBody FROM CaseComment")["records"]
    assert sum(c["CommentBody"].endswith(" \r\n") for c in stored) >= len(stored) - 2

    again = make_dest(bulk_threshold=bulk_threshold)
    again.prepare({})
    results = load_all(again, transform_all(again, data), SqliteCrosswalk(tmp_path / "second" / "cw.sqlite"), MIG,
                       "run-2")
    assert sf_admin.counts()["CaseComment"] == len(stored)
    comments = next(r for r in results if r.phase == "comments")
    assert comments.counts().get("created", 0) == 0 and comments.counts()["unchanged"] == len(stored)
