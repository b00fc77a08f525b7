#!/usr/bin/env bash
# The demo: a real local migration with no AWS account. Starts MariaDB with a generated osTicket
# database (real schema), starts the Salesforce emulator, runs the migration on the local engine and
# prints the reconciliation summary and where the reports are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m hdm_infra.demo "$@"
