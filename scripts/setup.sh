#!/usr/bin/env bash
# Creates .venv and installs policybot with everything it needs, offline-capable model included,
# at the versions pinned in requirements.lock (the Dockerfile installs the same file).
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
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt requirements.lock ] \
  && [ "$stamp" -nt requirements-dev.lock ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "setup: installing torch 2.13.0 (CPU) ..." >&2
  .venv/bin/python -m pip install --quiet torch==2.13.0
fi
# The pinned set the image installs too (requirements.lock), plus the test tools and the eval extra
# (requirements-dev.lock: the tests measure too); then the project itself without dependencies.
# Regenerate both lock files with `.venv/bin/python scripts/lock.py`.
echo "setup: installing the locked dependencies and policybot ..." >&2
.venv/bin/python -m pip install --quiet -r requirements.lock -r requirements-dev.lock
.venv/bin/python -m pip install --quiet --no-deps -e .
touch "$stamp"
