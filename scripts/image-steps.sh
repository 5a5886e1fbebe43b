#!/usr/bin/env bash
# The Dockerfile's build and start steps without a container engine: a clean clone as the context,
# a fresh venv as the base image, the RUN lines in order, then `policybot health` and `policybot ask`.
#   bash scripts/image-steps.sh              the committed tree (what `docker build` of a clone sees)
#   bash scripts/image-steps.sh --worktree   plus uncommitted changes; --keep keeps the temp root
# Takes minutes (torch and the locked dependencies install from the local pip cache or registry).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
exec "$PYTHON" scripts/image_steps.py --python "$(command -v "$PYTHON")" "$@"
