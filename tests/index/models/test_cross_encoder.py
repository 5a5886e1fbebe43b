"""The cross-encoder seam works offline with a tiny model the test builds and saves itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.models._cross_encoder import CrossEncoderReranker, Reranker
from tests.support.tiny_models import save_tiny_cross_encoder


def test_cross_encoder_gives_one_float_per_passage(tmp_path: Path) -> None:
    reranker: Reranker = CrossEncoderReranker(str(save_tiny_cross_encoder(tmp_path)))
    passages = ["The agency issued new rules.", "Fines follow.", "Hospitals must report attacks within three days."]
    scores = reranker.score("who issued the rules?", passages)
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)
    assert scores == reranker.score("who issued the rules?", passages)  # deterministic (eval mode)
    assert reranker.score("who issued the rules?", []) == []


def test_a_classifier_with_several_outputs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one relevance score"):
        CrossEncoderReranker(str(save_tiny_cross_encoder(tmp_path, num_labels=3)))
