#!/usr/bin/env bash
# Sets up, then runs the lint, type and test suites (what CI runs).
#   bash scripts/test.sh                        everything (CI)
#   bash scripts/test.sh --fast                 lint, types and the fast lane: tests that need no real model
#   bash scripts/test.sh --fast --python 3.12   the same on another Python (3.11 to 3.13), in .venv-3.12;
#                                               without TORCH_INDEX_URL that venv has no torch (NO_TORCH=1 in
#                                               scripts/setup.sh), so only the fast lane runs there
# Any other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
fast=
python=
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) fast=1; args+=(-m "not slow") ;;
    --python) python=${2:?--python needs a version, e.g. 3.12}; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
venv=.venv
if [ -n "$python" ]; then
  venv=.venv-$python
  if [ -z "${TORCH_INDEX_URL:-}" ]; then
    export NO_TORCH=${NO_TORCH:-1}
  fi
  if [ -n "${NO_TORCH:-}" ] && [ -z "$fast" ]; then
    echo "test: --python $python without torch runs the fast lane only: add --fast (or set TORCH_INDEX_URL)" >&2
    exit 2
  fi
  PYTHON=python$python VENV=$venv bash scripts/setup.sh
else
  bash scripts/setup.sh
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$venv/bin/ruff" check .
"$venv/bin/mypy"
exec "$venv/bin/python" -m pytest ${args[@]+"${args[@]}"}
