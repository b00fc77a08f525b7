"""A connector module that fails to import is reported (which module, why) and hides no other connector
(issue #11 review): the registry used to mark itself loaded before importing, so the first broken folder
emptied it for the rest of the process. Run in a child process: the registry is loaded once per process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = textwrap.dedent("""
    import json, logging, sys
    import hdm.sources
    hdm.sources.__path__.append(sys.argv[1])  # an extra connector folder beside the real ones
    logging.basicConfig(level=logging.WARNING)
    from hdm import registry
    from hdm.pipeline.config import ConfigError, read_config
    out = {"sources": sorted(registry.connectors("source")),
           "destinations": sorted(registry.connectors("destination")),
           "failures": [[f.kind, f.name, f.module, f.error] for f in registry.failures()]}
    for name in ("aaabroken", "nosuch"):
        try:
            registry.source(name)
        except registry.UnknownConnector as exc:
            out[name] = [type(exc).__name__, str(exc)]
    try:
        read_config(sys.argv[2])
    except ConfigError as exc:
        out["config"] = str(exc)
    print(json.dumps(out))
""")


def test_a_broken_connector_module_is_reported_and_hides_no_other(tmp_path: Path):
    folder = tmp_path / "plugins" / "aaabroken"  # sorts before every real connector: it is imported first
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "connector.py").write_text("import hdm_no_such_dependency_xyz\n")
    config = tmp_path / "c.yaml"
    config.write_text("migration_id: abc\nsource: {type: aaabroken}\ndestination: {type: salesforce}\n")
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "plugins"), str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "osticket" in out["sources"] and "salesforce" in out["destinations"]  # the others still registered
    assert out["failures"] == [["source", "aaabroken", "hdm.sources.aaabroken.connector",
                                "ModuleNotFoundError: No module named 'hdm_no_such_dependency_xyz'"]]
    # reported once, naming the module and the reason
    assert "hdm.sources.aaabroken.connector failed to import" in done.stderr
    assert "hdm_no_such_dependency_xyz" in done.stderr
    kind, message = out["aaabroken"]
    assert kind == "ConnectorUnavailable"
    assert message.startswith("source connector 'aaabroken' could not be loaded: module "
                              "hdm.sources.aaabroken.connector failed to import (ModuleNotFoundError")
    kind, message = out["nosuch"]  # an unknown name lists the registered ones and the broken one
    assert kind == "UnknownConnector" and re.search(r"registered: [^;]*\bosticket\b", message)
    assert "'aaabroken' could not be loaded" in message
    assert "source: " in out["config"] and "'aaabroken' could not be loaded" in out["config"]
    assert "hdm_no_such_dependency_xyz" in out["config"]
