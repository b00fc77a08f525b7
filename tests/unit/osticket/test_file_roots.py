"""FileRoots: a path a source row names is opened only when it resolves inside a configured folder."""

import os

import pytest
from hdm.sources.file_roots import FileRoots, PathRefused
from hdm.sources.osticket.config import OsTicketSourceConfig


@pytest.fixture
def tree(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "ok.txt").write_bytes(b"ok")
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside / "secret", root / "a" / "link")
    os.symlink(outside, root / "dirlink")
    os.symlink(root / "a" / "ok.txt", root / "inner-link")
    return root, outside


def test_files_inside_the_root_are_read_by_absolute_or_relative_path(tree):
    root, _ = tree
    roots = FileRoots([str(root)])
    with roots.open(str(root / "a" / "ok.txt")) as fh:
        assert fh.read() == b"ok"
    with roots.open("a/ok.txt") as fh:
        assert fh.read() == b"ok"
    with roots.open("inner-link") as fh:  # a link that stays inside is fine
        assert fh.read() == b"ok"
    with pytest.raises(FileNotFoundError):
        roots.open("a/absent.txt")


@pytest.mark.parametrize("claim", ["/etc/passwd", "/proc/self/environ", "../outside/secret", "a/../../outside/secret",
                                   "a/link", "dirlink/secret", "", ".", "a/ok.txt\x00.png"])
def test_anything_resolving_outside_the_root_is_refused(tree, claim):
    root, _ = tree
    with pytest.raises(PathRefused):
        FileRoots([str(root)]).open(claim)


def test_the_root_itself_and_non_files_are_refused(tree):
    root, _ = tree
    os.mkfifo(root / "a" / "fifo")
    roots = FileRoots([str(root)])
    with pytest.raises(PathRefused):
        roots.open(str(root))
    with pytest.raises(PathRefused, match="not a regular file"):
        roots.open("a/fifo")  # never blocks on a FIFO
    with pytest.raises(PathRefused, match="not a regular file"):
        roots.open("a")


def test_no_configured_root_reads_nothing(tree):
    root, _ = tree
    with pytest.raises(PathRefused, match="no attachment folder"):
        FileRoots([None, ""]).open(str(root / "a" / "ok.txt"))


def test_the_config_takes_further_roots():
    cfg = OsTicketSourceConfig(database="d", user="u", password="env:X", attachments_dir="/srv/files",
                               attachment_roots=["/srv/legacy16"])
    assert cfg.attachment_roots == ["/srv/legacy16"]
    assert OsTicketSourceConfig(database="d", user="u", password="env:X").attachment_roots == []
