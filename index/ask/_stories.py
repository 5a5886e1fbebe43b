"""Ambiguous questions: "who attended the meeting?" over many meetings. When another story's best
sentence scores almost as well as the answer's, the question may mean either, so up to two other
stories are offered beside the answer, each as its own answer, best first."""

from __future__ import annotations

from collections.abc import Sequence

from index.ask._sentences import ScoredSentence

MAX_ALTERNATIVES = 2
"""Stories offered beside the answer: with it, as many as the bot shows (one row of buttons)."""


def other_stories(scored: Sequence[ScoredSentence], margin: float) -> list[ScoredSentence]:
    """The best sentence of every other article scoring within ``margin`` of the answer's best
    sentence, best first. Each article is its own story: retrieval already folded the republished
    copies of a story into its best copy, so two candidates are never one wire story."""
    if not scored or margin < 0:
        return []
    best = scored[0]
    seen = {best.article}
    out: list[ScoredSentence] = []
    for s in scored[1:]:  # best first, so an article's first sentence here is its best
        if s.score < best.score - margin:
            break
        if s.article not in seen:
            seen.add(s.article)
            out.append(s)
    return out
