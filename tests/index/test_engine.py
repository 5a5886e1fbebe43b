"""The engine's front door and its parts, on the fast deterministic model (no torch needed).

Covers: the Query value, score fusion, sentence selection, the abstention model, the typed
corpus edits and "build if missing", and the date a question was asked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from index import Engine, Filters
from index.ask import AnswerTuning, Evidence
from index.ask._compose import Composer
from index.ask._query import build_query
from index.ask._retrieval import fuse
from index.errors import ArticleError, IndexMissingError, QuestionError
from index.settings import Settings
from index.types import Span
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder

STORIES = {
    "riverside": ("2023-09-01", "Ransomware hits Riverside hospital",
                  "A ransomware attack forced Riverside Hospital to divert ambulances on Tuesday. "
                  "The hospital said 1,200 patient records were exposed. "
                  "Staff went back to paper charts for days."),
    "lakeside": ("2023-03-01", "Ransomware hits Lakeside hospital",
                 "A ransomware attack forced Lakeside Hospital to cancel surgeries on Monday. "
                 "The hospital said 48,000 patient records were exposed. "
                 "The attackers demanded two million dollars."),
    "summit": ("2021-06-16", "Leaders meet in Geneva",
               "President Elena Marsh met Premier Viktor Aldane in Geneva to discuss ransomware. "
               "Also attending were ministers Ana Ruiz and Piotr Zalewski. "
               "They agreed to hold expert talks on critical infrastructure."),
}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    for name, (published, title, body) in STORIES.items():
        write_article(tmp_path / "corpus", name, body, title=title, published=published, source=f"{name} wire")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")
    return Engine(settings, embedder=FakeEncoder())


# ---- the Query value ---------------------------------------------------------------------------
def test_query_is_built_once_with_everything_retrieval_and_answers_need() -> None:
    encoder = FakeEncoder()
    q = build_query(
        "  and who else   was there? ",
        encoder,
        asked_on=date(2024, 2, 5),
        filters=Filters(source="AFP"),
        previous="Who met in Geneva last week?",
    )
    assert q.text == "and who else was there?"  # whitespace collapsed, the question as asked
    assert q.retrieval_text.startswith("Who met in Geneva last week?")  # a follow-up borrows the context
    assert "geneva" in q.terms and q.qtype == "who"
    assert q.time is not None and q.time.start == date(2024, 1, 22) and q.time.end == date(2024, 2, 5)
    assert q.filters.source == "AFP" and q.asked_on == date(2024, 2, 5)
    assert encoder.calls == 1 and q.vector.shape == (encoder.dim,)
    with pytest.raises(QuestionError):
        build_query("?!", encoder, asked_on=date(2024, 1, 1))


# ---- fusion ------------------------------------------------------------------------------------
def test_fusion_keeps_cosine_scale_and_normalises_bm25_by_the_best_match() -> None:
    cosine = np.array([0.5, 0.7, 0.2])
    bm25 = np.array([10.0, 0.0, 5.0])
    fused = fuse(cosine, bm25, 0.2)
    np.testing.assert_allclose(fused, 0.8 * cosine + 0.2 * np.array([1.0, 0.0, 0.5]))
    np.testing.assert_allclose(fuse(cosine, np.zeros(3), 0.2), 0.8 * cosine)  # no lexical match at all
    np.testing.assert_allclose(fuse(cosine, bm25, 0.0), cosine)


# ---- the abstention model ----------------------------------------------------------------------
def test_abstention_model_moves_the_right_way_with_each_piece_of_evidence(engine: Engine) -> None:
    engine.build()
    composer = Composer(engine.snapshot(), AnswerTuning())
    strong = Evidence(
        sentence_cosine=0.7, chunk_cosine=0.7, coverage=1.0, missing_idf=0.0, time_mismatch=0.0,
        sentence_coverage=1.0, top_coverage=1.0, type_missing=0.0, name_missing=0.0, cosine_margin=2.0,
        name_missing_top=0.0, missing_idf_top=0.0,
    )
    base = composer.confidence(strong)
    assert base > AnswerTuning().abstain_threshold
    assert composer.confidence(replace(strong, coverage=0.2, sentence_coverage=0.2, top_coverage=0.2)) < base
    assert composer.confidence(replace(strong, time_mismatch=1.0)) < base
    assert composer.confidence(replace(strong, type_missing=1.0)) < base
    assert composer.confidence(replace(strong, sentence_cosine=0.1, chunk_cosine=0.1)) < base
    off_topic = replace(strong, sentence_cosine=0.2, chunk_cosine=0.2, coverage=0.0, sentence_coverage=0.0, top_coverage=0.0)
    assert composer.confidence(off_topic) < AnswerTuning().abstain_threshold
    assert 0.0 < composer.confidence(replace(strong, coverage=-1e9)) < 1e-6  # clipped, never overflows


# ---- sentence selection and the answer's structure -----------------------------------------------
def test_answer_quotes_the_best_article_in_plain_text_with_spans_and_citations(engine: Engine) -> None:
    engine.build()
    answer = engine.ask("How many patient records were exposed at Lakeside Hospital?")
    assert answer.answerable and answer.sources[0].article_id == "lakeside"
    assert "48,000" in answer.text and answer.text.endswith("[1]")
    assert "**" not in answer.text
    assert answer.index_version == engine.stats().version
    quoted = answer.sources[0].quote
    assert quoted in STORIES["lakeside"][2]  # verbatim sentences of the article
    assert len([s for s in STORIES["lakeside"][2].split(". ") if s.rstrip(".") in quoted]) <= AnswerTuning().max_sentences
    for span in answer.spans:
        assert 0 <= span.start < span.end <= len(answer.text) and span.kind == "number"
    assert any(answer.text[s.start : s.end] == "48,000" for s in answer.spans)


def test_unrelated_question_is_declined_with_no_sources(engine: Engine) -> None:
    engine.build()
    answer = engine.ask("What is the best recipe for banana bread?")
    assert not answer.answerable and answer.sources == () and answer.spans == ()


def test_filters_are_one_value(engine: Engine) -> None:
    engine.build()
    hits = engine.search("ransomware hospital", filters=Filters(since=date(2023, 6, 1)))
    assert [h.article_id for h in hits] == ["riverside"]
    assert engine.search("ransomware hospital", filters=Filters(source="lakeside"))[0].article_id == "lakeside"
    assert engine.sources()[0].endswith("wire")


def test_the_day_a_question_was_asked_decides_what_last_week_means(engine: Engine) -> None:
    engine.build()
    question = "Which hospital was hit by ransomware last week?"
    september = engine.search(question, asked_on=date(2023, 9, 6))
    march = engine.search(question, asked_on=date(2023, 3, 5))
    assert september[0].article_id == "riverside" and march[0].article_id == "lakeside"


def test_question_words_that_name_the_story_weigh_less_than_the_word_naming_what_is_asked() -> None:
    from index.ask._sentences import _focus_weights

    # Four sentences about Optus; only one says "executive": that word tells them apart.
    found = [{"optus", "breach"}, {"optus"}, {"optus", "executive"}, {"optus", "breach"}]
    weights = _focus_weights(found, lambda _term: 1.0)
    assert weights["executive"] > weights["breach"] > weights["optus"]
    assert _focus_weights([], lambda _term: 1.0) == {}


def test_a_name_the_question_already_says_is_not_its_answer() -> None:
    from index.ask._entities import WHO, answer_type_score
    from index.terms import stem

    asked = {stem("optus"), stem("australia")}  # the question's words, stemmed as the composer does
    lede = "Then Optus, the Australia telecom, said Optus and Australia were hit."
    answer = "Then chief executive Kelly Bayer Rosmarin apologised to customers."
    assert answer_type_score(lede, WHO) > 0  # names, but only the question's own
    assert answer_type_score(lede, WHO, asked) == 0.0
    assert answer_type_score(answer, WHO, asked) > answer_type_score(lede, WHO, asked)


def test_a_how_many_question_is_answered_by_a_number_beside_what_it_counts() -> None:
    from index.ask._entities import COUNT, answer_type_score, counted_words, counting_spans
    from index.terms import stem

    counted = counted_words("How many critical infrastructure sectors are there?")
    assert counted == {stem("critical"), stem("infrastructure"), stem("sectors")}
    assert counted_words("How much ransom did the hackers ask for?") == {stem("ransom")}
    assert counted_words("What share of the fuel does it carry?") == {stem("fuel")}
    assert counted_words("Who attended the meeting?") == frozenset()

    counts = 'Attacks raise questions about protecting 16 "critical infrastructure" sectors, officials said.'
    elsewhere = "Companies in critical infrastructure sectors must report incidents within 72 hours."
    assert [counts[a:b] for a, b in counting_spans(counts, counted)] == ["16"]
    assert counting_spans(elsewhere, counted) == []  # 72 counts hours, not sectors
    assert answer_type_score(counts, COUNT, counted=counted) == 1.0
    assert answer_type_score(elsewhere, COUNT, counted=counted) == 0.0
    assert answer_type_score(elsewhere, COUNT) == 1.0  # without knowing what is counted, any number
    paid = "Colonial paid a ransom of $4.4 million in 2021."
    assert [paid[a:b] for a, b in counting_spans(paid, counted_words("How much ransom was paid?"))] == ["$4.4 million"]
    assert counting_spans("The ransom was paid in 2021.", {stem("ransom")}) == []  # a year counts nothing


def test_the_short_answer_leads_with_what_the_question_does_not_name(engine: Engine) -> None:
    from index.terms import stem

    engine.build()
    composer = Composer(engine.snapshot(), AnswerTuning())
    first, second = "Premier Viktor Aldane hosted the Geneva talks.", "Also attending were ministers Ana Ruiz and Piotr Zalewski."

    def span(sentence: str, name: str) -> tuple[int, int]:
        return sentence.index(name), sentence.index(name) + len(name)

    quoted = [
        (first, [span(first, "Viktor Aldane")]),
        (second, [span(second, "Ana Ruiz"), span(second, "Piotr Zalewski")]),
    ]
    text, spans = composer._short_answer(quoted, "name", {stem("viktor"), stem("aldane"), stem("geneva")})
    assert text == "Ana Ruiz and Piotr Zalewski."  # one sentence's names, none the question gave
    assert [text[s.start : s.end] for s in spans] == ["Ana Ruiz", "Piotr Zalewski"]
    assert composer._short_answer(quoted, "name", set()) == ("Viktor Aldane.", [Span(0, 13, "name")])
    assert composer._short_answer(quoted, "", set()) == ("", [])


def test_focus_weight_lifts_the_sentence_holding_the_asked_for_word(engine: Engine) -> None:
    engine.build()
    snap = engine.snapshot()
    query = engine.asker.query("Which attackers demanded money from the hospital?")
    ranked = engine.asker.rank(snap, query)
    lakeside = next(r for r in ranked if snap.articles[r.idx].id == "lakeside")

    def margin(focus: float) -> float:
        composer = Composer(snap, AnswerTuning(focus_weight=focus))
        scored = {snap.sentence_text[s.sid]: s.score for s in composer.sentences(query).ranked([lakeside])}
        demanded = next(v for k, v in scored.items() if "demanded" in k)
        lede = next(v for k, v in scored.items() if k.startswith("A ransomware attack"))
        return demanded - lede

    assert margin(0.5) > margin(0.0)


def test_rerank_lifts_the_article_whose_sentence_says_what_was_asked_and_keeps_scores(engine: Engine) -> None:
    from index.ask._retrieval import RankedArticle

    engine.build()
    snap = engine.snapshot()
    query = engine.asker.query("How many patient records were exposed at Lakeside Hospital?")
    assert query.counted == {"patient", "record"}  # what its numbers must count (stemmed)
    by_id = {snap.articles[i].id: i for i in range(len(snap.articles))}
    # The first stage put the wrong story first, by a hair.
    ranked = [RankedArticle(by_id["summit"], 0.50, 0.4, 0), RankedArticle(by_id["lakeside"], 0.49, 0.4, 0)]
    lifted = Composer(snap, AnswerTuning()).rerank(query, ranked)
    assert [snap.articles[r.idx].id for r in lifted] == ["lakeside", "summit"]
    assert {r.score for r in lifted} == {0.50, 0.49}  # only the order moves
    assert Composer(snap, AnswerTuning(rerank_weight=0.0)).rerank(query, ranked) == ranked
    after_second_stage = Composer(snap, AnswerTuning(rerank_weight=0.0, staged_rerank_weight=0.5))
    assert after_second_stage.rerank(query, ranked, staged=True)[0].idx == by_id["lakeside"]  # its own weight
    assert Composer(snap, AnswerTuning(staged_rerank_weight=0.0)).rerank(query, ranked, staged=True) == ranked
    long_question = engine.asker.query("How many patient records were exposed at Lakeside Hospital " + " ".join(f"word{i}" for i in range(12)))
    assert Composer(snap, AnswerTuning()).rerank(long_question, ranked) == ranked  # long questions stay as ranked


# ---- the index and the corpus through the engine ------------------------------------------------
def test_ensure_built_builds_only_when_there_is_no_index(engine: Engine) -> None:
    assert not engine.has_index()
    with pytest.raises(IndexMissingError):
        engine.ask("Who met in Geneva?")
    report = engine.ensure_built()
    assert report is not None and report.added == 3
    assert engine.ensure_built() is None  # an index exists: nothing to do


def test_corpus_edits_go_through_the_engine(engine: Engine) -> None:
    engine.build()
    added = engine.corpus.add_file("Water Utility.md", b"---\ntitle: Water utility breach\n---\nA water utility in Ohio reported a breach of its billing system.\n")
    path = engine.settings.corpus_dir / "water-utility.md"
    assert added == "water-utility" and path.is_file()
    with pytest.raises(ArticleError):
        engine.corpus.add_file("evil.exe", b"MZ")
    report = engine.build(changed=[])  # only what the edit owes: an increment of its file
    assert report.added == 1 and report.unchanged == 3
    assert "water-utility" in {h.article_id for h in engine.articles()}
    moved = engine.corpus.remove("water-utility")
    assert moved.parent == engine.settings.trash_dir and moved.exists() and not path.exists()
    assert engine.build().removed == 1


def test_a_question_embedded_by_another_model_is_refused(engine: Engine) -> None:
    from index.errors import ModelMismatchError

    engine.build()
    other = Engine(engine.settings, embedder=FakeEncoder(dim=128))
    with pytest.raises(ModelMismatchError, match="built with fake-hash"):
        other.ask("Who met in Geneva?")
    assert engine.snapshot().manifest["embedder"] == FakeEncoder().signature()


def test_a_new_model_under_the_same_settings_re_embeds_everything(engine: Engine) -> None:
    first = engine.build()
    write_article(engine.settings.corpus_dir, "extra", "A new rule for water utilities took effect in Ohio.")
    report = Engine(engine.settings, embedder=FakeEncoder(dim=128)).build()
    assert report.chunks_embedded == report.chunks_total > first.chunks_total - 1
    assert report.unchanged == 0


def test_captions_bylines_and_credits_are_kept_marked_and_searchable(tmp_path: Path) -> None:
    from tests.support import REPO

    seed = (REPO.parent / "shared" / "corpus-seed" / "biden-cybersecurity-meeting.txt").read_bytes()
    kept = (REPO / "corpus" / "biden-cybersecurity-meeting.md").read_bytes()
    assert kept.endswith(seed)  # the user's article exactly as written, photo caption included
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed.txt").write_bytes(seed)  # pasted whole: the first line is a caption, not a title
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus)
    engine = Engine(settings, embedder=FakeEncoder())
    engine.build()
    snap = engine.snapshot()
    assert snap.articles[0].citation.title.startswith("US President Joe Biden gathered Wednesday")
    kinds = dict(zip(snap.sentence_text, snap.sentence_kind, strict=True))
    caption = next(t for t in snap.sentence_text if t.startswith("US President Joe Biden speaks"))
    assert kinds[caption] == "caption" and caption.endswith("Photo: AFP")  # one piece, verbatim
    assert kinds["AFP"] == "credit"
    assert any(t.startswith("Photo caption: US President") for t in snap.chunk_text)  # labelled for search
    answer = engine.ask("What event was Biden speaking at in the photo?")
    assert answer.answerable and "Tulsa Race Massacre" in answer.text


def test_an_answer_from_another_story_is_declined_only_for_short_single_topic_questions() -> None:
    from index.ask._sentences import SINGLE_TOPIC_TERMS

    seen = Evidence(
        sentence_cosine=0.5, chunk_cosine=0.5, coverage=0.4, missing_idf=1.0, time_mismatch=0.0,
        sentence_coverage=0.2, top_coverage=0.6, type_missing=0.0, name_missing=1.0, cosine_margin=1.0,
        name_missing_top=0.0, missing_idf_top=0.0,
    )
    assert seen.about_another_story(question_terms=5)  # "Who won the 2022 FIFA World Cup?" over news
    assert not seen.about_another_story(question_terms=SINGLE_TOPIC_TERMS + 1)  # a multi-article question
    assert not replace(seen, name_missing=0.0).about_another_story(question_terms=5)
    assert not replace(seen, sentence_coverage=0.6).about_another_story(question_terms=5)


def test_captions_answer_only_questions_about_the_photo() -> None:
    from index.ask._sentences import asks_about
    from index.corpus._chunking import BYLINE, CAPTION

    assert asks_about(CAPTION, ["biden", "doing", "photo"]) and not asks_about(CAPTION, ["attended", "meeting"])
    assert asks_about(BYLINE, ["wrote", "story"]) and not asks_about(BYLINE, ["meeting"])


def test_names_of_a_question_leave_out_dates_and_outlets_are_dropped_later() -> None:
    from index.ask._compose import _names_and_numbers

    assert _names_and_numbers("Which tech chief executives met Biden about cybersecurity on 25 August 2021?") == ["biden"]
    assert _names_and_numbers("How many of the 16 sectors did Colonial Pipeline's CEO name?") == ["16", "colonial", "pipeline", "ceo"]


def test_a_build_refused_by_this_engines_own_build_waits_for_it_then_runs(engine: Engine, tmp_path: Path) -> None:
    """A moderator's edit landing while this engine's feed poll builds: the edit's build waits for the
    poll's and then runs, instead of reporting a failure; another holder's lock still refuses at once."""
    import threading

    from index.errors import BuildLockedError
    from tests.support.builds import LockHolder

    engine.build()
    reached, release = threading.Event(), threading.Event()

    def hold(progress: object) -> None:
        if not reached.is_set():
            reached.set()
            assert release.wait(60)

    first = threading.Thread(target=lambda: engine.build(progress=hold))  # type: ignore[arg-type]
    first.start()
    assert reached.wait(60)
    write_article(tmp_path / "corpus", "late", "A late story about ransomware insurance rules.", title="Late story")
    results: list[object] = []
    second = threading.Thread(target=lambda: results.append(engine.build(changed=[tmp_path / "corpus" / "late.md"])))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first build, not refused
    release.set()
    first.join(60)
    second.join(60)
    assert len(results) == 1 and "Late story" in [h.citation.title for h in engine.articles()]

    with LockHolder(engine.settings.data_dir), pytest.raises(BuildLockedError):
        engine.build()  # someone else's lock: refused at once
