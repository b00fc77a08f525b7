#!/usr/bin/env bash
# Installs everything hdm needs on a fresh Debian machine: system packages, a virtualenv, the packages.
# Idempotent: a second run only checks. Used by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 || need_apt+=(mariadb-server mariadb-client)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "setup: installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The distribution's service is not used: hdm starts its own private MariaDB on 127.0.0.1.

# hdm runs on Python 3.13, the Lambda runtime of template.yaml: the virtualenv, CI and every test
# use that same version. $PYTHON overrides; otherwise python3.13 on PATH or pyenv's newest 3.13.
want=3.13
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if command -v python$want >/dev/null 2>&1 && python$want -c '' >/dev/null 2>&1; then
    PY=python$want
  else
    for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$want.*/bin/python$want; do
      [ -x "$cand" ] && PY=$cand
    done
  fi
fi
if [ -z "$PY" ]; then
  echo "setup: Python $want is required (set PYTHON=/path/to/python$want)" >&2
  exit 1
fi
if [ -x .venv/bin/python ] && ! .venv/bin/python -c "import sys; sys.exit(sys.version_info[:2] != ($want,))"; then
  echo "setup: .venv is not Python $want; recreating it"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.hdm-deps
if [ ! -f "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ] || [ layers/hdm/pyproject.toml -nt "$stamp" ] \
   || [ infra/pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  touch "$stamp"
fi
