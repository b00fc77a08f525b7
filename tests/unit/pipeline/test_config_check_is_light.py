"""Checking a config (the trigger API's cold start, `hdm status`, `hdm approve`) reads the connectors' config
models only: it must not import the drivers and loaders behind them."""

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from hdm.pipeline.config import MigrationConfig
MigrationConfig.model_validate({
    "migration_id": "acme-1",
    "source": {"type": "osticket", "database": "osticket", "user": "reader", "password": "env:OST_PW"},
    "destination": {"type": "salesforce", "username": "u@example.com", "password": "env:SF_PW"},
})
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pymysql", "simple_salesforce", "lxml",
                                                                       "selectolax", "nh3"))))
"""


def test_validating_a_config_imports_no_driver_or_loader():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []
