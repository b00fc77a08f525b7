"""Every emulator's `serve` command is the kit's one helper (hdm_infra.emulators.kit.cli), with the same options."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hdm_infra.emulators.kit import cli as kit_cli

EMULATORS = ("sfemu", "kayakoemu", "kustomeremu", "intercomemu")


@pytest.mark.parametrize("name", EMULATORS)
def test_each_emulator_serves_through_the_kit_helper(name):
    main = importlib.import_module(f"hdm_infra.{name}.__main__")
    serve = main.cli.commands["serve"]
    assert serve.callback.__module__ == kit_cli.__name__
    assert {p.name for p in serve.params} == {"state_dir", "port", "background"}
    assert "def serve(" not in Path(main.__file__).read_text()


def test_background_prints_the_started_servers_banner(tmp_path):
    class Running:
        def describe(self):
            return {"url": "https://127.0.0.1:1", "pid": 42}

    started = []
    command = kit_cli.serve_command(lambda d, p: None, lambda d, p: started.append((d, p)) or Running(), object,
                                    "help")
    group = click.Group(commands={"serve": command})
    result = CliRunner().invoke(group, ["serve", "--state-dir", str(tmp_path), "--port", "7", "--background"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"url": "https://127.0.0.1:1", "pid": 42, "note": kit_cli.BACKGROUND_NOTE}
    assert started == [(tmp_path, 7)]
