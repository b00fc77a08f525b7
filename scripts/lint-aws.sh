#!/usr/bin/env bash
# Offline checks of the AWS side (CI calls this; no AWS account, no Docker):
#   1. cfn-lint template.yaml, with the newest cfn-lint (its Lambda runtime lifecycle data is what flags a
#      deprecated runtime: W2531 once deprecated, E2531/E2533 once creation/updates are blocked)
#   2. sam validate --lint (aws-sam-cli in its own venv, .venv-sam, on the same Python as .venv: its pins
#      conflict with ours)
#   3. the layer: layers/hdm/requirements.txt is generated from pyproject.toml (scripts/layer-requirements.py),
#      then installed into an empty folder as `sam build` does and every handler and hdm module imported from it
#      in a clean interpreter (scripts/check-layer.py; needs PyPI)
#   4. ASL: npm asl-validator on statemachine/*.asl.json, then moto's own ASL parser
#   5. ruff on functions/ and the AWS adapters
# Each step installs what it needs when missing (idempotent), since CI machines start fresh.
# HDM_LINT_OFFLINE=1 skips the upgrade of cfn-lint (then the lifecycle data is as old as the installed release).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_REGION=${AWS_REGION:-us-east-1}
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTACT_TELEMETRY=0
# sam validate needs a region but never credentials; fake ones keep it from probing instance metadata
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-lint} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-lint}
failed=0
step() { printf '\n== %s\n' "$*"; }
run() { if "$@"; then echo "ok"; else echo "FAILED: $*"; failed=1; fi; }

step "cfn-lint template.yaml"
if [ "${HDM_LINT_OFFLINE:-0}" != "1" ]; then
  # a release's runtime lifecycle data only knows deprecations announced before it: always lint with the newest
  "$PY" -m pip install -q --disable-pip-version-check --upgrade cfn-lint \
    || echo "lint-aws: WARNING: could not upgrade cfn-lint; its runtime lifecycle data may be out of date"
fi
[ -x "$ROOT/.venv/bin/cfn-lint" ] || "$PY" -m pip install -q cfn-lint
"$ROOT/.venv/bin/cfn-lint" --version
# every rule, warnings included (a deprecated runtime is W2531 before it becomes an error): any finding fails
run "$ROOT/.venv/bin/cfn-lint" template.yaml

step "sam validate --lint"
# aws-sam-cli on the same Python as .venv (the Lambda runtime's, python3.13); a .venv-sam on another is rebuilt
want=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -x "$ROOT/.venv-sam/bin/python" ] && ! "$ROOT/.venv-sam/bin/python" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$want')"; then
  echo "lint-aws: .venv-sam is not Python $want; recreating it"
  rm -rf "$ROOT/.venv-sam"
fi
if [ ! -x "$ROOT/.venv-sam/bin/sam" ]; then
  "$PY" -m venv "$ROOT/.venv-sam"  # venv bases it on .venv's own interpreter, not on .venv
  "$ROOT/.venv-sam/bin/pip" install -q aws-sam-cli
fi
"$ROOT/.venv-sam/bin/sam" --version
run "$ROOT/.venv-sam/bin/sam" validate --lint --template-file template.yaml --region "$AWS_DEFAULT_REGION"

step "layer requirements generated from layers/hdm/pyproject.toml"
run "$PY" scripts/layer-requirements.py --check

step "layer installs as sam build installs it; every handler and hdm module imports from it"
run "$PY" scripts/check-layer.py

if [ "${HDM_LINT_SAM_BUILD:-0}" = "1" ]; then
  # optional (needs PyPI for the layer's wheels): build, then import every handler from the built artifacts
  step "sam build + handler imports from the built layer"
  BUILD=$(mktemp -d)
  run "$ROOT/.venv-sam/bin/sam" build --build-dir "$BUILD" --template-file template.yaml
  for fn in "$BUILD"/*Function; do
    run "$PY" -c "import sys; sys.path[:0] = ['$BUILD/HdmLayer/python', '$fn']; import app, hdm; \
assert hdm.__file__.startswith('$BUILD'), hdm.__file__; print('imported', '$(basename "$fn")')"
  done
  rm -rf "$BUILD"
fi

step "asl-validator statemachine/*.asl.json"
ASL_LINT=$ROOT/infra/aws/asl-lint
[ -x "$ASL_LINT/node_modules/.bin/asl-validator" ] || npm install --prefix "$ASL_LINT" --no-audit --no-fund --silent
args=()
for f in statemachine/*.asl.json; do args+=(--json-path "$f"); done
run "$ASL_LINT/node_modules/.bin/asl-validator" "${args[@]}"

step "moto's ASL parser (what the parity tests execute)"
run "$PY" - <<'PY'
import glob, json, re, sys
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
for path in sorted(glob.glob("statemachine/*.asl.json")):
    text = open(path).read()
    json.loads(text)  # valid JSON before SAM substitution
    text = re.sub(r"\$\{([A-Za-z0-9]+)\}", "arn:aws:lambda:us-east-1:123456789012:function:lint", text)
    AmazonStateLanguageParser.parse(text)
    for bad in ("ItemBatcher", '"EXPRESS"', "ResultWriter"):
        if bad in text:
            sys.exit(f"{path}: {bad} is not executable on moto (see reference notes §1.2)")
    print(f"parsed {path}")
PY

step "ruff (functions/, AWS adapters, harness)"
[ -x "$ROOT/.venv/bin/ruff" ] || "$PY" -m pip install -q ruff
run "$ROOT/.venv/bin/ruff" check functions layers/hdm/hdm/stage/s3.py layers/hdm/hdm/crosswalk/dynamodb.py \
  layers/hdm/hdm/engines/aws.py infra/hdm_infra/testing/aws.py infra/hdm_infra/testing/sam_harness.py \
  tests/unit/aws tests/integration/aws tests/integration/pipeline

if [ "$failed" -ne 0 ]; then echo; echo "lint-aws: FAILED"; exit 1; fi
echo; echo "lint-aws: all checks passed"
