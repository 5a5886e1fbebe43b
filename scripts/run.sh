#!/usr/bin/env bash
# Sets up, then runs policybot: the Discord bot when DISCORD_TOKEN is set (environment or .env),
# otherwise a local console session over the bundled corpus (the index is built on first use); with
# neither a token nor a terminal it says how to set the token and exits 2. The torch wheel index is
# a setting of scripts/setup.sh (TORCH_INDEX_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1}
exec .venv/bin/policybot run "$@"
