"""Pure metric functions, kept apart from the engine so they can be checked by hand-computed cases."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_BOLD = re.compile(r"\*\*|__")
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def normalize(text: str) -> str:
    """Casefold, drop Markdown bold markers, unify quotes/dashes and collapse whitespace.

    The engine bolds names and dates inside answers, so ``**CISA**`` must still match ``cisa``.
    """
    return _SPACE.sub(" ", _BOLD.sub("", text).translate(_QUOTES)).casefold().strip()


def first_rank(gold: Iterable[str], retrieved: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved id that is gold, or ``None`` if none is."""
    wanted = set(gold)
    for rank, item in enumerate(retrieved, start=1):
        if item in wanted:
            return rank
    return None


def hits_at(ranks: Sequence[int | None], k: int) -> float:
    """Fraction of queries whose first gold hit is within the top ``k``."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr(ranks: Sequence[int | None], cutoff: int = 10) -> float:
    """Mean reciprocal rank, counting ranks beyond ``cutoff`` (or misses) as 0."""
    return sum(1.0 / r for r in ranks if r is not None and r <= cutoff) / len(ranks) if ranks else 0.0


def recall_at(gold: Iterable[str], retrieved: Sequence[str], k: int) -> float:
    """Fraction of the gold ids found in the top ``k`` (MultiHop needs all its evidence articles)."""
    wanted = set(gold)
    return len(wanted & set(retrieved[:k])) / len(wanted) if wanted else 0.0


def contains(answer: str, phrase: str) -> bool:
    """Does ``phrase`` occur in ``answer`` as whole words (normalised)?

    Whole words, because short gold answers ("No", "Rollo", "10") would otherwise match inside
    unrelated words ("not", "Rollover", "2010"). Trailing punctuation of the gold text is dropped:
    "the Golden Gate Bridge." must match mid-sentence too.
    """
    needle = normalize(phrase).rstrip(".,;:!?")
    return bool(needle) and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", normalize(answer)) is not None


def groups_found(expect: Sequence[Sequence[str]], answer: str) -> list[bool]:
    """For each expect group: does any of its alternatives occur in the answer?"""
    return [any(contains(answer, alt) for alt in group) for group in expect]


@dataclass(frozen=True)
class Abstention:
    """Confusion counts with "abstained" as the positive class and "unanswerable" as the truth."""

    tp: int  # unanswerable and abstained
    fp: int  # answerable but abstained
    fn: int  # unanswerable but answered
    tn: int  # answerable and answered

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def abstention(pairs: Iterable[tuple[bool, bool]]) -> Abstention:
    """Count ``(unanswerable, abstained)`` pairs."""
    tp = fp = fn = tn = 0
    for unanswerable, abstained in pairs:
        if unanswerable and abstained:
            tp += 1
        elif abstained:
            fp += 1
        elif unanswerable:
            fn += 1
        else:
            tn += 1
    return Abstention(tp=tp, fp=fp, fn=fn, tn=tn)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation, as numpy's default does."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def squad_normalize(text: str) -> str:
    """SQuAD's official answer normalisation: lower case, no punctuation, no articles."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def exact_match(prediction: str, truths: Sequence[str]) -> float:
    """SQuAD exact match against the best of the crowd answers."""
    return float(max((squad_normalize(prediction) == squad_normalize(t) for t in truths), default=False))


def f1_score(prediction: str, truths: Sequence[str]) -> float:
    """SQuAD token F1 against the best of the crowd answers."""
    best = 0.0
    pred = squad_normalize(prediction).split()
    for truth in truths:
        gold = squad_normalize(truth).split()
        same = sum((Counter(pred) & Counter(gold)).values())
        if same:
            precision, recall = same / len(pred), same / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
