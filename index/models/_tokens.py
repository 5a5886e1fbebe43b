"""Chunk token budgets counted with the embedding model's own tokenizer (no weights loaded).

Chunking is packed to what the model reads; the corpus package only receives the counter, so
cutting articles never depends on loading a model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from index.corpus import TokenBudget, TokenCounter, estimate_tokens
from index.models._embedder import resolve_model_path


@lru_cache(maxsize=8)
def model_tokenizer(model_path: str) -> tuple[TokenCounter, int, int | None] | None:
    """``(counter, special tokens per text, max_seq_length)`` from a model folder's ``tokenizer.json``
    (the ``tokenizers`` library, loaded in milliseconds: no model weights), or None without one."""
    folder = Path(model_path)
    if not (folder / "tokenizer.json").is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    special = len(tokenizer.encode("").ids)
    max_len: int | None = None
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        value: Any = json.loads(config.read_text()).get("max_seq_length")
        max_len = int(value) if value else None

    def count(texts: Sequence[str]) -> list[int]:
        encoded = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encoded]

    return count, special, max_len


def token_budget(model: str, tokens: int) -> TokenBudget | None:
    """The budget for ``model``: ``tokens`` (capped at the model's ``max_seq_length``) counted with
    its own tokenizer when its folder has one, else with :func:`estimate_tokens`; None when 0."""
    if tokens <= 0:
        return None
    try:
        path = resolve_model_path(model)
    except ImportError:
        path = model
    loaded = model_tokenizer(path)
    if loaded is None:
        return TokenBudget(tokens, estimate_tokens)
    count, special, max_len = loaded
    return TokenBudget(min(tokens, max_len or tokens), count, special, "tokenizer")
