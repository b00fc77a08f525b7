"""The recorder's browser pieces (HTML form serialisation) and the fixture loader's dump splitter, without PHP."""

from __future__ import annotations

import gzip

import pytest
from hdm_infra.osticket_real import record
from hdm_infra.osticket_real.web import WebError, find_form, page_errors, parse_forms
from hdm_infra.testing.osticket_real import _statements, recorded_versions, recording_manifest

DIALOG = """
<form action="#tickets/3/assign" method="post" class="save">
  <input type="hidden" name="__CSRFToken__" value="tok">
  <label for="a1">Assignee:</label>
  <select name="3f9a[]"><option value="">— Select —</option><option value="s1">Ada Admin</option>
    <option value="s2" selected="selected">Bob Builder</option></select>
  <label>Comments</label><textarea name="c0ffee">old &amp; text</textarea>
  <input type="checkbox" name="refer" value="1"> <input type="checkbox" name="keep" checked>
  <input type="radio" name="mode" value="a"><input type="radio" name="mode" value="b" checked>
  <input type="submit" value="Assign"><input type="file" name="upload">
</form>
<form action="other.php"><input name="q" value="x"></form>
"""


def test_form_values_are_what_a_browser_submits():
    form = find_form(DIALOG, action="assign")
    assert form.values() == [("__CSRFToken__", "tok"), ("3f9a[]", "s2"), ("c0ffee", "old & text"),
                             ("keep", "on"), ("mode", "b")]
    assert form.by_label("comments").name == "c0ffee"
    assert form.by_label("assignee", "select").options[1] == ("s1", "Ada Admin", False)
    assert form.first("textarea").name == "c0ffee"
    with pytest.raises(WebError, match="no control labelled"):
        form.by_label("department")
    with pytest.raises(WebError, match="no form with"):
        find_form(DIALOG, action="transfer")
    assert [f.attrs.get("action") for f in parse_forms(DIALOG)] == ["#tickets/3/assign", "other.php"]


def test_page_errors_reads_osticket_banners():
    page = '<div id="msg_error">Unable to add this agent.</div><font class="error">Role is required<br></font>'
    assert page_errors(page) == ["Unable to add this agent.", "Role is required"]


def test_dump_splitter_keeps_multiline_create_and_semicolons_in_values():
    sql = ("-- comment\n/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE `t` (\n  `a` int,\n  `b` text\n);\n"
           "INSERT INTO `t` VALUES (1,'x; y\\nz');\n\n")
    assert _statements(sql) == ["/*!40101 SET NAMES utf8mb4 */;", "CREATE TABLE `t` (\n  `a` int,\n  `b` text\n);",
                                "INSERT INTO `t` VALUES (1,'x; y\\nz');"]


@pytest.mark.parametrize("version", recorded_versions())
def test_recorded_dumps_hold_no_session_rows_and_no_credentials(version):
    from hdm_infra.testing.osticket_real import recording_dir

    text = gzip.decompress((recording_dir(version) / "osticket.sql.gz").read_bytes()).decode()
    assert "INSERT INTO `ost_session`" not in text and "INSERT INTO `ost_syslog`" not in text
    assert "hdm_admin" not in text and "ost_app" not in text  # no server accounts in the data
    assert recording_manifest(version)["dump"] == "osticket.sql.gz"


def test_recorder_refuses_a_folder_that_is_not_osticket(tmp_path, capsys):
    with pytest.raises(SystemExit):
        record.main(["--version", "1.18", "--source", str(tmp_path), "--out", str(tmp_path / "out")])
    assert "not an osTicket source tree" in capsys.readouterr().err
