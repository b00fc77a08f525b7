#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test level (unit, integration, e2e).
# Real parts are started by the tests themselves: a private MariaDB, the Salesforce emulator, moto.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
