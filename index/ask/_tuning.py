"""Retrieval weights per embedding model, chosen by measurement.

A model's cosines have their own scale: MiniLM spreads related and unrelated passages over
0.1–0.7, EmbeddingGemma packs them closer, so a BM25 weight fitted to one model throws away much
of another's advantage (``../shared/notes/retrieval-baselines.md``). Each profile below was
measured on the project set and MultiHop (README, "Quality mode"); a model without a profile
gets the MiniLM defaults, and ``POLICYBOT_BM25_WEIGHT`` overrides any of them.
"""

from __future__ import annotations

from dataclasses import replace

from index.ask._retrieval import Tuning

PROFILES: tuple[tuple[str, Tuning], ...] = (
    # Substring of the model's name or path (case-insensitive) → its tuning; first match wins.
    # Gemma: 0.2 ties the best MRR on MultiHop (main model and re-scorer) and the project set, and
    # stays below MiniLM's weight: on held-out real news BM25 cost Gemma more than it cost MiniLM.
    ("embeddinggemma", Tuning(bm25_weight=0.2)),
)
"""The MiniLM default (``Tuning()``, bm25_weight 0.25) applies to every model not listed."""


def profile_for(model: str) -> Tuning:
    """The measured tuning for ``model`` (a name, path or signature ``model`` field)."""
    name = model.casefold()
    return next((tuning for key, tuning in PROFILES if key in name), Tuning())


def tuning_for(model: str, bm25_weight: float | None = None) -> Tuning:
    """The model's profile with the user's override (``POLICYBOT_BM25_WEIGHT``) applied."""
    tuning = profile_for(model)
    return tuning if bm25_weight is None else replace(tuning, bm25_weight=bm25_weight)
