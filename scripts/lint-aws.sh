#!/usr/bin/env bash
# Offline checks of the AWS side (CI calls this; no AWS account, no Docker):
#   1. cfn-lint template.yaml
#   2. sam validate --lint (aws-sam-cli in its own venv, .venv-sam: its pins conflict with ours)
#   3. ASL: npm asl-validator on statemachine/*.asl.json, then moto's own ASL parser
#   4. ruff on functions/ and the AWS adapters
# Each step installs what it needs when missing (idempotent), since CI machines start fresh.
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
[ -x "$ROOT/.venv/bin/cfn-lint" ] || "$PY" -m pip install -q cfn-lint
run "$ROOT/.venv/bin/cfn-lint" template.yaml

step "sam validate --lint"
if [ ! -x "$ROOT/.venv-sam/bin/sam" ]; then
  python3 -m venv "$ROOT/.venv-sam"
  "$ROOT/.venv-sam/bin/pip" install -q aws-sam-cli
fi
run "$ROOT/.venv-sam/bin/sam" validate --lint --template-file template.yaml --region "$AWS_DEFAULT_REGION"

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
