#!/usr/bin/env bash
# Sets up, then runs the lint, type and test suites (what CI runs).
#   bash scripts/test.sh            everything (CI)
#   bash scripts/test.sh --fast     lint, types and the fast lane: tests that need no real model (seconds)
# Any other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then args+=(-m "not slow"); else args+=("$arg"); fi
done
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest ${args[@]+"${args[@]}"}
