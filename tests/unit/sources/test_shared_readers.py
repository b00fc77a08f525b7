"""The bundle readers share one line reader and one JSON-line parser, and no connector imports another's private
names (a public helper instead)."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from hdm.sources import base
from hdm.sources.export import records as export_records
from hdm.sources.export.records import LineRefused, json_object
from hdm.sources.thread import records as thread_records

SOURCES = Path(base.__file__).resolve().parent


def _package(module: str) -> str:
    parts = module.split(".")  # hdm.sources.<connector>...: the connector package; else the module itself
    return ".".join(parts[:3]) if parts[:2] == ["hdm", "sources"] and len(parts) > 3 else module


def test_no_connector_imports_a_private_name_of_another_package():
    found = []
    for path in sorted(SOURCES.rglob("*.py")):
        rel = path.relative_to(SOURCES)
        own = "hdm.sources." + (rel.parts[0] if len(rel.parts) > 1 else rel.stem)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hdm.") \
                    and _package(node.module) != own:
                found += [f"{path.relative_to(SOURCES)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []


def test_one_line_reader_for_every_bundle_reader():
    from hdm.sources.export import bundle

    assert not hasattr(bundle, "_lines") and bundle.iter_lines is base.iter_lines
    assert list(base.iter_lines(io.BytesIO(b"a\nbb\nc"), skip=2)) == [b"bb\n", b"c"]


@pytest.mark.parametrize(("raw", "why"), [(b"{nope\n", "not JSON"), (b"[1]\n", "not a JSON object"),
                                          (b'{"a"', "truncated")])
def test_one_json_line_parser_for_export_and_thread(raw, why):
    with pytest.raises(LineRefused, match=why):
        json_object(raw)
    with pytest.raises(LineRefused, match=why):
        thread_records.parse(raw, "ticket")
    with pytest.raises(LineRefused, match=why):
        export_records.parse_line(raw, "ticket")
