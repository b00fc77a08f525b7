"""Every HTML page hdm writes is a Jinja2 template shipped inside the hdm package and rendered with autoescape on:
no module builds a page by hand, every template is carried by the package data (pip install, wheel) and loads."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from hdm import templates

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "layers" / "hdm" / "hdm"
PAGE_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.I)


def test_every_template_ships_as_package_data_and_loads() -> None:
    on_disk = sorted(p.name for p in (PACKAGE / "templates").glob("*.j2"))
    assert on_disk == sorted(templates.TEMPLATES)
    patterns = tomllib.loads((ROOT / "layers" / "hdm" / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["hdm"]
    carried = {p.relative_to(PACKAGE) for pattern in patterns for p in PACKAGE.glob(pattern)}  # as setuptools globs
    assert {Path("templates") / name for name in on_disk} <= carried
    env = templates.environment()
    assert env.autoescape is True
    for name in on_disk:
        env.get_template(name)  # parses


def test_autoescape_is_on_for_every_value() -> None:
    html = templates.render("message_file.html.j2", header='<script>x</script>"', sanitised_html="<p>kept</p>")
    assert "<title>&lt;script&gt;x&lt;/script&gt;&#34;</title>" in html and "<p>kept</p>" in html


def test_no_module_writes_an_html_page_by_hand() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and PAGE_START.search(node.value):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_the_page_builders_escape_nothing_by_hand() -> None:
    for module in ("pipeline/report.py", "threads/review.py", "destinations/salesforce/transform.py"):
        tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {"html", "markupsafe"} & imported, module
