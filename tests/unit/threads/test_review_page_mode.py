"""The thread review page holds ticket bodies: it is written mode 0600 (issue #10 item 9)."""

from __future__ import annotations

import os
import stat

from click.testing import CliRunner
from hdm.sources.osticket.rendered.cli import threads
from test_review_sample import _pool, _stage


def test_the_thread_review_page_is_private(tmp_path):
    old = os.umask(0o022)  # a permissive umask: the mode must be explicit
    try:
        _validate(tmp_path)
    finally:
        os.umask(old)


def _validate(tmp_path):
    _stage(tmp_path, _pool(5))
    out = tmp_path / "review.html"
    result = CliRunner().invoke(threads, ["validate", "--records", str(tmp_path), "--sample", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
