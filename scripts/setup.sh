#!/usr/bin/env bash
# Creates a venv and installs policybot with everything it needs, offline-capable model included,
# at the versions and file hashes pinned in requirements.lock (the Dockerfile installs the same file)
# plus requirements-dev.lock (the test tools and the eval extra). Safe to run again: it only
# installs what is missing. Regenerate both lock files with `.venv/bin/python scripts/lock.py`.
#
# Settings (environment variables):
#   TORCH_INDEX_URL  the package index torch's CPU wheel comes from. Empty (the default): the
#                    configured index, which serves the CPU build where these locks were made. On
#                    the public index (PyPI) torch for Linux is a multi-GB CUDA build: set
#                    TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu (PyTorch's CPU wheels).
#   PYTHON           the interpreter for a new venv, 3.11 to 3.13 (default python3.11, else python3)
#   VENV             the venv folder (default .venv)
#   NO_TORCH=1       everything but torch: enough for the fast test lane, which loads no model
#                    (scripts/test.sh --python 3.12 uses it where no CPU torch is at hand)
set -euo pipefail
cd "$(dirname "$0")/.."
find_python() {  # a working interpreter for a command such as python3.12, pyenv's installs included
  if "$1" -V >/dev/null 2>&1; then command -v "$1"; return; fi
  command -v pyenv >/dev/null 2>&1 || return 1
  local version  # pyenv's shim refuses a version that is installed but not selected
  version=$(pyenv versions --bare 2>/dev/null | grep -E "^${1#python}(\.|$)" | tail -1)
  [ -n "$version" ] && [ -x "$(pyenv root)/versions/$version/bin/$1" ] && echo "$(pyenv root)/versions/$version/bin/$1"
}
VENV=${VENV:-.venv}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
NO_TORCH=${NO_TORCH:-}
if [ ! -x "$VENV/bin/python" ]; then
  if [ -n "${PYTHON:-}" ]; then
    python=$(find_python "$PYTHON") || { echo "setup: $PYTHON not found" >&2; exit 2; }
  else
    python=$(find_python python3.11 || find_python python3)
  fi
  "$python" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'; then
  echo "setup: policybot needs Python 3.11 to 3.13; $VENV has $("$VENV/bin/python" -V 2>&1)" >&2
  exit 2
fi
stamp=$VENV/.policybot-installed
wanted="torch-index=$TORCH_INDEX_URL no-torch=$NO_TORCH"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ "$stamp" -nt pyproject.toml ] \
  && [ "$stamp" -nt requirements.lock ] && [ "$stamp" -nt requirements-dev.lock ]; then
  exit 0
fi
pip=("$VENV/bin/python" -m pip install --quiet)
"${pip[@]}" --upgrade pip
locked=(-r requirements.lock)
torch_pin=$(grep -o '^torch==[^ ]*' requirements.lock)
if [ -n "$NO_TORCH" ]; then
  # The lock less torch's entry (its line and hash lines); --no-deps: the lock is the whole closure.
  awk '/^torch==/ {skip=1; next} skip && /^ / {next} {skip=0; print}' requirements.lock >"$VENV/requirements-no-torch.lock"
  locked=(--no-deps -r "$VENV/requirements-no-torch.lock")
elif [ -n "$TORCH_INDEX_URL" ] \
  && ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '${torch_pin#torch==}')" 2>/dev/null; then
  # The CPU wheel from its own index first, without hashes (that index's files are not in the lock);
  # the locked install below then finds torch present and leaves it.
  echo "setup: installing $torch_pin (CPU) from $TORCH_INDEX_URL ..." >&2
  "${pip[@]}" --no-deps --index-url "$TORCH_INDEX_URL" "$torch_pin"
fi
echo "setup: installing the locked dependencies (hash-checked) and policybot ..." >&2
"${pip[@]}" --require-hashes "${locked[@]}" -r requirements-dev.lock
"${pip[@]}" --no-deps -e .
echo "$wanted" >"$stamp"
