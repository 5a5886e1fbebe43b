"""Training groups: for each question one positive passage and its negatives, or only negatives.

Negatives are the passages a reader must learn to turn down: the other windows of the same
paragraph, the positive with its answer sentence taken out, other paragraphs of the same article
and passages of other articles that BM25 or MiniLM rank high for the question.  v2.0's
unanswerable questions come with their own paragraph's windows, all negative.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from measure.reader.data import Passage, Question, Squad, answer_removed_text, gold_passages
from measure.reader.retrieval import top_k


@dataclass(frozen=True)
class Item:
    """One passage of a group; ``span`` is the answer's character span in ``text`` (positives)."""

    title: str
    text: str
    span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Group:
    """The passages read together for one question; ``positive`` is an index or -1 (none answers)."""

    question: str
    items: tuple[Item, ...]
    positive: int


@dataclass(frozen=True)
class Pools:
    """Negative candidates of one question (passage indices), best first."""

    same_article: tuple[int, ...]
    other_article: tuple[int, ...]


def fused_ranks(bm25: np.ndarray, dense: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    """Reciprocal-rank fusion of the two scorers' top lists among ``allowed`` passages."""
    score: dict[int, float] = {}
    for scores in (bm25, dense):
        for rank, i in enumerate(top_k(scores, k, allowed)):
            score[i] = score.get(i, 0.0) + 1.0 / (10 + rank)
    return sorted(score, key=lambda i: (-score[i], i))[:k]


def build_pools(
    squad: Squad,
    questions: Sequence[Question],
    passages: Sequence[Passage],
    bm25: np.ndarray,
    dense: np.ndarray,
    allowed_articles: set[str],
    same_k: int = 4,
    other_k: int = 6,
) -> list[Pools]:
    """Hard negatives per question: other paragraphs of its article and passages of other
    (allowed) articles, ranked by BM25 and MiniLM fused."""
    article = np.array([p.article for p in passages])
    paragraph = np.array([p.paragraph for p in passages])
    allowed_other = np.isin(article, sorted(allowed_articles))
    pools = []
    for row, q in enumerate(questions):
        same = (article == q.article) & (paragraph != q.paragraph)
        other = allowed_other & (article != q.article)
        pools.append(
            Pools(
                tuple(fused_ranks(bm25[row], dense[row], same, same_k)),
                tuple(fused_ranks(bm25[row], dense[row], other, other_k)),
            )
        )
    return pools


def make_group(
    squad: Squad, q: Question, pools: Pools, passages: Sequence[Passage], rng: random.Random, negatives: int = 3
) -> Group | None:
    """One group for ``q``, sampled with ``rng`` (a new draw each epoch)."""
    para = squad.paragraphs[(q.article, q.paragraph)]

    def item(i: int) -> Item:
        return Item(passages[i].title, passages[i].text)

    same_article = [item(i) for i in pools.same_article]
    other_article = [item(i) for i in pools.other_article]
    if q.impossible:
        own = [Item(p.title, p.text) for p in para.passages]
        rng.shuffle(own)
        chosen = own[:3]
        if len(chosen) < 2 and same_article:
            chosen.append(rng.choice(same_article[:2]))
        return Group(q.question, tuple(chosen), -1)
    gold = gold_passages(para, q)
    if not gold:
        return None
    ordinal = rng.choice(sorted(gold))
    positive = Item(para.passages[ordinal].title, para.passages[ordinal].text, gold[ordinal])
    beside = [Item(p.title, p.text) for p in para.passages if p.ordinal not in gold]
    removed_text = answer_removed_text(para, ordinal, q)
    removed = [Item(positive.title, removed_text)] if removed_text else []
    wanted: list[Item] = []
    for pool in (beside or same_article, removed or same_article, other_article):
        options = [x for x in pool if x.text not in {w.text for w in wanted}]
        if options:
            wanted.append(options[0] if pool is removed else rng.choice(options[:3]))
    leftovers = [x for x in same_article + other_article if x.text not in {w.text for w in wanted}]
    while len(wanted) < negatives and leftovers:
        wanted.append(leftovers.pop(0))
    items = [positive, *wanted[:negatives]]
    order = list(range(len(items)))
    rng.shuffle(order)
    return Group(q.question, tuple(items[i] for i in order), order.index(0))
