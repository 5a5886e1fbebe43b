"""SQuAD dev as reader data: paragraphs cut into passages exactly as the index cuts chunks.

Each SQuAD paragraph is treated as one article and goes through the index's own sentence splitter
and windowing (``index.corpus``), so the reader trains on the passages it will read at run time.
Answers are mapped from context offsets onto the passage text, which the chunker re-spaces.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.corpus import rechunk, split_marked

SQUAD_FILES = ("squad-dev/dev-v1.1.reconstructed.json", "squad-dev/dev-v2.0.reconstructed.json")
CHUNK_SENTENCES = 4
CHUNK_OVERLAP = 1
SPLIT_FILE = Path(__file__).with_name("split.json")


@dataclass(frozen=True)
class Passage:
    """One window of whole sentences of one paragraph, as the index would store it."""

    key: str
    article: str
    title: str
    paragraph: int
    ordinal: int
    first_sentence: int
    last_sentence: int
    text: str


@dataclass(frozen=True)
class Question:
    """A question on one paragraph; ``spans`` are the answers' (start, end) in the paragraph's
    whitespace-normalised text, empty for an unanswerable question."""

    id: str
    article: str
    paragraph: int
    question: str
    answers: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    impossible: bool
    in_v2: bool


@dataclass
class Paragraph:
    """A paragraph, its sentences located in its normalised text, and its passages."""

    article: str
    number: int
    text: str  # whitespace-normalised context
    sentences: list[str]
    kinds: list[str]
    sentence_spans: list[tuple[int, int]]
    passages: list[Passage] = field(default_factory=list)
    # Per passage: for each of its sentences, (offset in passage text, sentence index).
    layout: list[list[tuple[int, int]]] = field(default_factory=list)


@dataclass
class Squad:
    """Both dev files merged: articles by raw title, paragraphs, passages, questions (deduplicated)."""

    titles_v1: list[str]
    titles_v2: list[str]
    paragraphs: dict[tuple[str, int], Paragraph]
    questions: list[Question]

    @property
    def passages(self) -> list[Passage]:
        return [p for para in self.paragraphs.values() for p in para.passages]


def default_benchmarks() -> Path:
    """``POLICYBOT_BENCHMARKS``, else the nearest ``shared/benchmarks`` above this checkout."""
    env = os.environ.get("POLICYBOT_BENCHMARKS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "benchmarks"
        if candidate.is_dir():
            return candidate
    return here.parents[2].parent / "shared" / "benchmarks"


def display_title(raw: str) -> str:
    return raw.replace("_", " ")


def _normalise_with_map(context: str) -> tuple[str, list[int]]:
    """``" ".join(context.split())`` and, for every original character, its normalised offset."""
    out: list[str] = []
    mapping: list[int] = []
    pending_space = False
    for ch in context:
        if ch.isspace():
            pending_space = bool(out)
            mapping.append(len(out))
            continue
        if pending_space:
            out.append(" ")
            pending_space = False
        mapping.append(len(out))
        out.append(ch)
    mapping.append(len(out))
    return "".join(out), mapping


def build_paragraph(article: str, number: int, context: str) -> tuple[Paragraph, list[int]]:
    """Split and window one paragraph with the index's chunker; also the offset map of the context."""
    text, mapping = _normalise_with_map(context)
    marked = split_marked(context)
    sentences = [s for s, _ in marked]
    kinds = [k for _, k in marked]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in sentences:
        at = text.find(sentence, cursor)
        if at < 0:
            raise ValueError(f"sentence not found in its paragraph ({article} {number}): {sentence[:60]!r}")
        spans.append((at, at + len(sentence)))
        cursor = at + len(sentence)
    para = Paragraph(article, number, text, sentences, kinds, spans)
    title = display_title(article)
    for chunk in rechunk(sentences, kinds, title, CHUNK_SENTENCES, CHUNK_OVERLAP, None):
        layout: list[tuple[int, int]] = []
        offset = 0
        for i in range(chunk.first_sentence, chunk.last_sentence + 1):
            start = chunk.text.find(sentences[i], offset)
            layout.append((start, i))
            offset = start + len(sentences[i])
        para.layout.append(layout)
        para.passages.append(
            Passage(
                key=f"{article}#{number}#{chunk.ordinal}",
                article=article,
                title=title,
                paragraph=number,
                ordinal=chunk.ordinal,
                first_sentence=chunk.first_sentence,
                last_sentence=chunk.last_sentence,
                text=chunk.text,
            )
        )
    return para, mapping


def sentences_of(para: Paragraph, span: tuple[int, int]) -> list[int]:
    """Indices of the sentences that a normalised-text span touches."""
    return [i for i, (a, b) in enumerate(para.sentence_spans) if a < span[1] and span[0] < b]


def span_in_passage(para: Paragraph, ordinal: int, span: tuple[int, int]) -> tuple[int, int] | None:
    """The span's (start, end) in the passage's text, or None when the passage does not hold it."""
    layout = para.layout[ordinal]
    passage = para.passages[ordinal]
    start = end = None
    for offset, i in layout:
        a, b = para.sentence_spans[i]
        if start is None and a <= span[0] < b:
            start = offset + span[0] - a
        if a < span[1] <= b:
            end = offset + span[1] - a
    if start is None or end is None or end <= start:
        return None
    wanted = para.text[span[0] : span[1]]
    if passage.text[start:end] != wanted:
        return None
    return start, end


def gold_passages(para: Paragraph, question: Question) -> dict[int, tuple[int, int]]:
    """Passage ordinal -> the first answer span it holds (in passage text), for every passage
    that holds one of the question's answers."""
    out: dict[int, tuple[int, int]] = {}
    for ordinal in range(len(para.passages)):
        for span in question.spans:
            found = span_in_passage(para, ordinal, span)
            if found is not None:
                out[ordinal] = found
                break
    return out


def answer_removed_text(para: Paragraph, ordinal: int, question: Question) -> str | None:
    """The passage without the sentence(s) holding the answer, or None when nothing would be left
    or an answer text still occurs in what is left (that would not be a negative)."""
    layout = para.layout[ordinal]
    drop: set[int] = set()
    for span in question.spans:
        drop.update(sentences_of(para, span))
    kept = [para.sentences[i] for _, i in layout if i not in drop]
    if not kept or len(kept) == len(layout):
        return None
    text = " ".join(kept)
    folded = text.casefold()
    if any(answer.casefold() in folded for answer in question.answers):
        return None
    return text


def answer_removed_paragraph(para: Paragraph, question: Question) -> list[str]:
    """The paragraph's passages after the answer sentence(s) are taken out (re-windowed the way
    the index would), or [] when an answer text still occurs in what is left."""
    drop: set[int] = set()
    for span in question.spans:
        drop.update(sentences_of(para, span))
    keep = [i for i in range(len(para.sentences)) if i not in drop]
    if not keep:
        return []
    sentences = [para.sentences[i] for i in keep]
    kinds = [para.kinds[i] for i in keep]
    folded = " ".join(sentences).casefold()
    if any(answer.casefold() in folded for answer in question.answers):
        return []
    chunks = rechunk(sentences, kinds, display_title(para.article), CHUNK_SENTENCES, CHUNK_OVERLAP, None)
    return [c.text for c in chunks]


def _answers(qa: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(text, start, end) of each answer in the context, surrounding whitespace trimmed."""
    out = []
    for answer in qa.get("answers", []):
        raw = answer["text"]
        if raw.strip():
            start = int(answer["answer_start"]) + len(raw) - len(raw.lstrip())
            out.append((raw.strip(), start, start + len(raw.strip())))
    return out


def load_squad(benchmarks: Path) -> Squad:
    """Both dev files, paragraphs merged by (title, context), questions deduplicated by id and by
    (question, context); v2.0's answerable questions are v1.1's, so they appear once."""
    files = [json.loads((benchmarks / name).read_text(encoding="utf-8")) for name in SQUAD_FILES]
    titles = [[a["title"] for a in f["data"]] for f in files]
    paragraphs: dict[tuple[str, int], Paragraph] = {}
    by_context: dict[tuple[str, str], tuple[Paragraph, list[int]]] = {}
    questions: dict[str, Question] = {}
    seen_text: set[tuple[str, str]] = set()
    for version, data in enumerate(files):
        for article in data["data"]:
            raw = article["title"]
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                if (raw, context) not in by_context:
                    number = sum(1 for key in paragraphs if key[0] == raw) + 1
                    built = build_paragraph(raw, number, context)
                    by_context[(raw, context)] = built
                    paragraphs[(raw, number)] = built[0]
                para, mapping = by_context[(raw, context)]
                for qa in paragraph["qas"]:
                    text_key = (qa["question"].strip(), context)
                    if qa["id"] in questions:
                        old = questions[qa["id"]]
                        questions[qa["id"]] = Question(**{**old.__dict__, "in_v2": old.in_v2 or version == 1})
                        continue
                    if text_key in seen_text:
                        continue
                    seen_text.add(text_key)
                    impossible = bool(qa.get("is_impossible", False))
                    answers = _answers(qa)
                    spans = tuple(dict.fromkeys((mapping[a], mapping[b - 1] + 1) for _, a, b in answers))
                    texts = tuple(dict.fromkeys(t for t, _, _ in answers))
                    questions[qa["id"]] = Question(
                        id=qa["id"],
                        article=raw,
                        paragraph=para.number,
                        question=qa["question"].strip(),
                        answers=() if impossible else texts,
                        spans=() if impossible else spans,
                        impossible=impossible,
                        in_v2=version == 1,
                    )
    return Squad(titles[0], titles[1], paragraphs, list(questions.values()))


def split_titles(titles_v1: Sequence[str], titles_v2: Sequence[str], seed: int, calibration: int, test: int) -> dict[str, list[str]]:
    """Titles per split, stratified so test and calibration get their share of v2.0 titles; the
    rest is training (v2.0's titles are all among v1.1's)."""
    rng = random.Random(seed)
    both = sorted(set(titles_v2))
    only_v1 = sorted(set(titles_v1) - set(titles_v2))
    rng.shuffle(both)
    rng.shuffle(only_v1)
    total = len(both) + len(only_v1)
    share = len(both) / total
    test_v2 = round(test * share)
    cal_v2 = round(calibration * share)
    split = {
        "test": both[:test_v2] + only_v1[: test - test_v2],
        "calibration": both[test_v2 : test_v2 + cal_v2] + only_v1[test - test_v2 : test - test_v2 + calibration - cal_v2],
    }
    used = set(split["test"]) | set(split["calibration"])
    split["train"] = [t for t in both + only_v1 if t not in used]
    return {k: sorted(v) for k, v in split.items()}


def read_split(path: Path = SPLIT_FILE) -> dict[str, list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: list(data[k]) for k in ("train", "calibration", "test")}


def questions_in(squad: Squad, titles: Iterable[str]) -> list[Question]:
    wanted = set(titles)
    return [q for q in squad.questions if q.article in wanted]


_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_WORDS = (
    "a an and are as at be by for from has have he her his in is it its of on or that the their this to was "
    "were what when where which who whom whose why how with did does do"
)
STOP = frozenset(_STOP_WORDS.split(" "))


def terms(text: str) -> list[str]:
    """Lower-cased word tokens without a small stop list (for BM25)."""
    return [w for w in _WORD.findall(text.casefold()) if w not in STOP]
