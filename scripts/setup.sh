#!/usr/bin/env bash
# Creates .venv and installs policybot with everything it needs, offline-capable model included.
# torch is installed first and pinned: 2.13.0 is a CPU build; a plain `torch` would pull a
# multi-GB CUDA build. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.policybot-installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "setup: installing torch 2.13.0 (CPU) ..." >&2
  .venv/bin/python -m pip install --quiet torch==2.13.0
fi
echo "setup: installing policybot and its dependencies ..." >&2
.venv/bin/python -m pip install --quiet -e ".[dev]"
touch "$stamp"
