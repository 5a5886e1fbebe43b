"""Metric functions against small cases computed by hand."""

from __future__ import annotations

import math

import pytest

from measure.eval import metrics as metrics


def test_first_rank_is_one_based_and_takes_the_first_gold() -> None:
    assert metrics.first_rank({"b", "d"}, ["a", "b", "c", "d"]) == 2
    assert metrics.first_rank({"x"}, ["a", "b"]) is None
    assert metrics.first_rank(set(), ["a"]) is None


def test_hits_and_mrr_by_hand() -> None:
    ranks = [1, 3, None, 7]
    assert metrics.hits_at(ranks, 1) == 0.25
    assert metrics.hits_at(ranks, 5) == 0.5
    assert metrics.hits_at(ranks, 10) == 0.75
    # (1 + 1/3 + 0 + 1/7) / 4
    assert metrics.mrr(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)
    # rank 7 is past a cutoff of 5
    assert metrics.mrr(ranks, 5) == pytest.approx((1 + 1 / 3) / 4)
    assert metrics.hits_at([], 1) == 0.0 and metrics.mrr([]) == 0.0


def test_recall_at_k_counts_each_gold_once() -> None:
    assert metrics.recall_at(["a", "b", "c"], ["a", "x", "c", "b"], 3) == pytest.approx(2 / 3)
    assert metrics.recall_at(["a"], ["a", "a"], 10) == 1.0
    assert metrics.recall_at([], ["a"], 10) == 0.0


def test_groups_found_is_case_insensitive_ignores_bold_and_needs_whole_words() -> None:
    answer = "The **Cybersecurity and Infrastructure Security Agency** said on **March 3, 2023** that…"
    expect = [["CISA", "cybersecurity and infrastructure security agency"], ["2023"], ["NSA"]]
    assert metrics.groups_found(expect, answer) == [True, True, False]
    # "no" must not match inside "not"/"know", nor "10" inside "2010"
    assert metrics.groups_found([["no"], ["10"]], "We do not know it; it was 2010.") == [False, False]
    assert metrics.groups_found([["U.S."]], "the u.s. government") == [True]
    assert metrics.contains("the Golden Gate Bridge replica", "the Golden Gate Bridge.")
    assert not metrics.contains("anything", "...")
    assert metrics.contains("It cost $5 million.", "$5 million")
    assert metrics.contains("a “quoted” phrase — here", '"quoted" phrase - here')


def test_abstention_counts_with_abstained_as_positive() -> None:
    # (unanswerable, abstained)
    pairs = [(True, True), (True, True), (True, False), (False, True), (False, False), (False, False)]
    counts = metrics.abstention(pairs)
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (2, 1, 1, 2)
    assert counts.precision == pytest.approx(2 / 3)
    assert counts.recall == pytest.approx(2 / 3)
    assert counts.f1 == pytest.approx(2 / 3)


def test_abstention_undefined_cases_are_none_not_zero() -> None:
    nothing_to_abstain = metrics.abstention([(False, False), (False, False)])
    assert nothing_to_abstain.precision is None and nothing_to_abstain.recall is None
    assert nothing_to_abstain.f1 is None
    never_abstains = metrics.abstention([(True, False), (False, False)])
    assert never_abstains.precision is None and never_abstains.recall == 0.0
    all_wrong = metrics.abstention([(True, False), (False, True)])
    assert all_wrong.precision == 0.0 and all_wrong.recall == 0.0 and all_wrong.f1 == 0.0


def test_percentile_interpolates_like_numpy() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert metrics.percentile(values, 50) == pytest.approx(25.0)
    assert metrics.percentile(values, 95) == pytest.approx(38.5)
    assert metrics.percentile([7.0], 95) == 7.0
    assert math.isnan(metrics.percentile([], 50))


def test_squad_exact_match_and_f1_follow_the_official_normalisation() -> None:
    assert metrics.exact_match("The Normans.", ["Normans", "the Norse"]) == 1.0  # case, article, punctuation
    assert metrics.exact_match("Normans of France", ["Normans"]) == 0.0
    assert metrics.f1_score("Normans of France", ["Normans"]) == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert metrics.f1_score("", ["Normans"]) == 0.0 and metrics.exact_match("", ["Normans"]) == 0.0
