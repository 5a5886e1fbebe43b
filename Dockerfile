# policybot: the Discord bot with its bundled corpus and offline model.
#   docker build -t policybot .
#   docker run -e DISCORD_TOKEN=... -v policybot-data:/app/data policybot
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false POLICYBOT_DATA=/app/data POLICYBOT_CORPUS=/app/corpus
WORKDIR /app

# CPU-only torch first, so sentence-transformers does not pull a CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
RUN pip install .

COPY corpus ./corpus
# Build the index into the image; a mounted /app/data volume keeps later reindexes.
RUN policybot build

RUN useradd --create-home policybot && chown -R policybot /app
USER policybot
CMD ["policybot", "run"]
