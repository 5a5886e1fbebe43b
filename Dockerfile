# policybot: the Discord bot with its bundled corpus and offline model.
#   docker build -t policybot .
#   docker run -e DISCORD_TOKEN=... -v policybot-data:/app/data -v policybot-corpus:/app/corpus policybot
#   docker compose up        # one builder and two sharded replicas on shared volumes (compose.yaml)
# The same pins as scripts/setup.sh: torch==2.13.0 first, then requirements.lock, then the project
# without dependencies. scripts/image-steps.sh runs these RUN lines in a fresh venv (no Docker here);
# a RUN line after "# image-steps: skip" is left out there (it needs root).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    POLICYBOT_DATA=/app/data POLICYBOT_CORPUS=/app/corpus
WORKDIR /app

# CPU-only torch first (2.13.0 is a CPU build), so nothing pulls a CUDA build.
RUN pip install torch==2.13.0

COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
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
