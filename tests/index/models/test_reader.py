"""The shipped reader: its weights are refused when damaged, and it reads a handful of pairs right."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.errors import ReaderWeightsError
from index.models import Reader, make_reader
from index.models._reader import WEIGHTS, verify
from index.settings import Settings

MEETING = (
    "Tech chiefs meet the president",
    "The president met technology chief executives at the White House on Wednesday. "
    "Attending the session were Ada Lovell of Northwind and Omar Haddad of Contoso. "
    "They promised to train workers in security skills.",
)
BREACH = (
    "Water utility reports breach",
    "A water utility in Ohio said attackers stole the billing records of 12,500 customers in March. "
    "The utility has hired an outside firm to investigate.",
)
RECIPE = ("Summer dessert", "Whisk the cream with sugar and vanilla, then chill it for two hours before serving.")


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def copy_weights(tmp_path: Path) -> Path:
    folder = tmp_path / "weights"
    shutil.copytree(WEIGHTS, folder)
    return folder


def test_the_shipped_weights_match_their_manifest() -> None:
    verify(WEIGHTS)
    assert (WEIGHTS / "model.safetensors").stat().st_size <= 50 * 1024 * 1024
    assert (WEIGHTS.parent / "reader_weights" / "MODEL_CARD.md").is_file()


def test_a_changed_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    folder = copy_weights(tmp_path)
    config = folder / "reader.json"
    config.write_text(config.read_text().replace("192", "193"))
    with pytest.raises(ReaderWeightsError, match=r"reader\.json does not match its sha256"):
        Reader(folder)
    with pytest.raises(ReaderWeightsError, match="does not match"):
        make_reader(Settings(_env_file=None, reader_model=str(folder)))  # POLICYBOT_READER_MODEL goes through the check


def test_a_missing_file_or_manifest_is_refused(tmp_path: Path) -> None:
    folder = copy_weights(tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ReaderWeightsError, match="missing"):
        Reader(folder)
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(ReaderWeightsError, match="no SHA256SUMS"):
        Reader(folder)


def test_an_unknown_reader_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReaderWeightsError, match="neither a folder nor a cached hub model"):
        make_reader(Settings(_env_file=None, reader_model="no-such-owner/no-such-reader"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "answers", "passage"),
    [  # every answer a reader of the passage could give (as SQuAD lists several)
        ("Who attended the White House session?", ("Ada Lovell", "Omar Haddad", "chief executives"), MEETING),
        ("How many customers had their billing records stolen?", ("12,500",), BREACH),
        ("Which state is the water utility in?", ("Ohio",), BREACH),
        ("What did the executives promise?", ("train workers",), MEETING),
    ],
)
def test_the_answer_span_comes_from_the_passage_that_holds_it(
    reader: Reader, question: str, answers: tuple[str, ...], passage: tuple[str, str]
) -> None:
    passages = [RECIPE, MEETING, BREACH]
    readings = reader.read(question, passages)
    best = max(range(len(passages)), key=lambda i: readings[i].relevance)
    assert passages[best] == passage
    span = readings[best].span
    assert span is not None and any(answer in passage[1][span[0] : span[1]] for answer in answers)
    assert readings[best].relevance >= reader.relevance_threshold


@pytest.mark.slow
def test_an_unrelated_passage_is_no_answer(reader: Reader) -> None:
    (reading,) = reader.read("Who attended the White House session?", [RECIPE])
    assert reading.relevance < reader.relevance_threshold


@pytest.mark.slow
def test_bfloat16_and_float32_read_alike(reader: Reader) -> None:
    """The weights are stored in half precision; computing in either precision gives the same reading."""
    question = "How many customers had their billing records stolen?"
    other = Reader(precision="float32" if reader.precision == "bfloat16" else "bfloat16")
    for a, b in zip(reader.read(question, [MEETING, BREACH]), other.read(question, [MEETING, BREACH]), strict=True):
        assert a.span == b.span
        assert abs(a.relevance - b.relevance) < 0.5
