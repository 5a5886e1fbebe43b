# policybot: the Discord bot with its bundled corpus and offline model.
#   docker build -t policybot .
#   docker run -e DISCORD_TOKEN=... -v policybot-data:/app/data -v policybot-corpus:/app/corpus policybot
#   docker compose up -d     # the same, one service (compose.yaml); compose.replicas.yaml: builder + replicas
# Build argument TORCH_INDEX_URL: the index torch's CPU wheel comes from. Empty (the default) uses the
# configured index, as scripts/setup.sh does; from the public index (PyPI, whose Linux torch is a CUDA
# build) use --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu.
# The same steps as scripts/setup.sh: torch (when TORCH_INDEX_URL is set), then requirements.lock with
# its hashes, then the project without dependencies. scripts/image-steps.sh runs these RUN lines in a
# fresh venv (no Docker here); a RUN line after "# image-steps: skip" is left out there (it needs root).
FROM python:3.11-slim
ARG TORCH_INDEX_URL=""

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    POLICYBOT_DATA=/app/data POLICYBOT_CORPUS=/app/corpus
WORKDIR /app

# The locked set, hash-checked; torch's CPU wheel first from TORCH_INDEX_URL when it is set (that
# index's files are not in the lock: the locked install then finds torch present and leaves it).
COPY requirements.lock ./
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
      pip install --no-deps --index-url "$TORCH_INDEX_URL" "$(grep -o '^torch==[^ ]*' requirements.lock)"; \
    fi
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
# index/ whole (the reader's weights included); measure/ and tests/ stay out: the bot runs without them.
COPY index ./index
COPY bot ./bot
RUN pip install --no-deps .

# The bundled corpus and its index; new named volumes start with these contents.
COPY corpus ./corpus
RUN policybot build

# image-steps: skip
RUN useradd --create-home --uid 10001 policybot && chown -R policybot /app/data /app/corpus
USER policybot
# Shared by the builder and the replicas (the builder writes feed articles into the corpus).
VOLUME ["/app/data", "/app/corpus"]

HEALTHCHECK --interval=30s --timeout=30s --start-period=180s --retries=3 CMD ["policybot", "health"]
CMD ["policybot", "run"]
