"""The ask path's knobs: retrieval weights per embedding model, and the answer's scoring and abstention.

Each model's cosines have their own scale, so fusion weights are fitted per model; every value here
was chosen on the evaluation sets (the measurements are in docs/), so change one only by measuring.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from index.ask._retrieval import Tuning

PROFILES: tuple[tuple[str, Tuning], ...] = (
    # Substring of the model's name or path (case-insensitive) → its tuning; first match wins.
    # Gemma takes less BM25 than MiniLM: lexical matches cost its stronger vectors more.
    ("embeddinggemma", Tuning(bm25_weight=0.2)),
)
"""The MiniLM default (``Tuning()``) applies to every model not listed."""


def profile_for(model: str) -> Tuning:
    """The measured tuning for ``model`` (a name, path or signature ``model`` field)."""
    name = model.casefold()
    return next((tuning for key, tuning in PROFILES if key in name), Tuning())


def tuning_for(model: str, bm25_weight: float | None = None) -> Tuning:
    """The model's profile with the user's override (``POLICYBOT_BM25_WEIGHT``) applied."""
    tuning = profile_for(model)
    return tuning if bm25_weight is None else replace(tuning, bm25_weight=bm25_weight)


@dataclass(frozen=True)
class AnswerTuning:
    """Sentence scoring, re-ranking and abstention knobs of the answer (chosen on data)."""

    candidate_articles: int = 4
    lexical_weight: float = 0.2
    type_weight: float = 0.2
    article_weight: float = 2.0
    support_margin: float = 0.6
    max_sentences: int = 4
    quote_words: int = 200
    aside_penalty: float = 0.3
    short_items: int = 8
    extra_article_margin: float = 0.03
    story_margin: float = 0.05
    """Another story whose best sentence scores this close to the answer's is offered beside it
    (index.ask._stories); negative offers none. Chosen on data nobody here wrote (docs/measurements)."""
    # Question words rare within the article (what is asked, not which story) lift their sentence,
    # and the article ranking weighs twice, so those lifts cannot carry the quote to a weaker story;
    # long questions (several stories) keep the lighter weights.
    focus_weight: float = 0.2
    long_lexical_weight: float = 0.1
    long_article_weight: float = 1.0
    # The second look (rerank) weighs an article's best sentence as much as its first-stage score.
    rerank_weight: float = 1.0
    staged_rerank_weight: float = 0.5
    """After a stronger second stage (a re-scorer, a cross-encoder) this model's sentences weigh
    less, so they cannot undo the stronger model's order."""
    rerank_articles: int = 10
    # Abstention: a logistic model over the Evidence fields, fitted by measure/calibrate/abstention.py
    # on several data sets weighing the same, with leave-the-answer-out negatives; the threshold
    # bounds false declines of answerable questions on every set's fitting half.
    abstain_weights: tuple[float, ...] = (
        5.364, -0.486, 2.144, -0.085, -0.677, 0.147, 2.251, -0.405, 0.085, -0.072, -0.574, 0.944,
    )
    abstain_bias: float = -5.823
    abstain_threshold: float = 0.10
