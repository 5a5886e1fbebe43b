"""The ``eval`` command up to the engine: argument handling, set preparation and clear errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from index.settings import Settings
from measure.eval import cli as cli
from measure.eval.sets import multihop
from tests.measure.samples import QUERIES, SQUAD, TRUTH


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="policybot")
    cli.add_subparser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["eval", *argv])


def run(args: argparse.Namespace) -> int:
    """What the entry point does: read the settings once (flags win), then run the command."""
    return cli.run(args, Settings.load(data_dir=args.data, corpus_dir=args.corpus, model=args.model))


def prepare(*argv: str) -> tuple[object, Settings]:
    args = parse(*argv)
    return cli._prepare(args, Settings.load(data_dir=args.data, corpus_dir=args.corpus))


@pytest.fixture
def benchmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "benchmarks"
    (root / "squad-dev").mkdir(parents=True)
    (root / "squad-dev" / "dev-v2.0.reconstructed.json").write_text(json.dumps(SQUAD))
    (root / multihop.FOLDER).mkdir()
    (root / multihop.FOLDER / "queries.json").write_text(json.dumps(QUERIES))
    (root / multihop.FOLDER / "ground_truth.json").write_text(json.dumps(TRUTH))
    monkeypatch.setenv("POLICYBOT_BENCHMARKS", str(root))
    return root


def test_subparser_wires_run_and_options() -> None:
    args = parse("squad-v1", "--sample", "50", "--seed", "3", "--data", "d", "--report", "r")
    assert args.func is cli.run
    assert (args.set, args.sample, args.seed, args.data, args.report) == (
        "squad-v1",
        50,
        3,
        Path("d"),
        Path("r"),
    )
    assert args.limit is None and args.corpus is None


def test_missing_benchmarks_folder_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLICYBOT_BENCHMARKS", str(tmp_path / "nowhere"))
    assert run(parse("multihop", "--data", str(tmp_path))) == 2
    err = capsys.readouterr().err
    assert "benchmark folder" in err and "POLICYBOT_BENCHMARKS" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no-such-set"], "unknown set 'no-such-set'"),
        (["absent.jsonl"], "Cannot read the question set"),
        (["multihop", "--corpus", "c"], "--corpus only applies to .jsonl sets"),
        (["multihop", "--limit", "0"], "--limit must be at least 1"),
        (["multihop", "--titles", "test"], "--titles only applies to the SQuAD sets"),
        (["mine.jsonl", "--titles", "test"], "--titles only applies to the SQuAD sets"),
    ],
)
def test_usage_errors(
    argv: list[str], message: str, benchmarks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(parse(*argv, "--data", str(tmp_path / "data"))) == 2
    assert message in capsys.readouterr().err


def test_builtin_set_writes_its_corpus_under_the_data_folder(benchmarks: Path, tmp_path: Path) -> None:
    qset, settings = prepare("squad-v2", "--data", str(tmp_path / "data"), "--sample", "2", "--seed", "1")
    root = tmp_path / "data" / "eval-corpora" / "squad-v2"
    assert settings.corpus_dir == root / "corpus" and settings.data_dir == root / "index"
    assert len(list(settings.corpus_dir.glob("*.md"))) == 3  # every paragraph, whatever the sample
    assert len(qset.questions) == 2 and any("2 of 3 questions" in note for note in qset.notes)


def test_squad_titles_keep_the_whole_corpus_and_say_so(benchmarks: Path, tmp_path: Path) -> None:
    qset, settings = prepare("squad-v2", "--data", str(tmp_path / "data"), "--titles", "test")
    assert len(list(settings.corpus_dir.glob("*.md"))) == 3  # every paragraph stays a distractor
    assert len(qset.questions) == 0  # the sample's article is not one of the reader's test titles
    assert any("test articles only" in note for note in qset.notes)


def test_multihop_pins_today_to_the_corpus_period(benchmarks: Path, tmp_path: Path) -> None:
    qset, settings = prepare("multihop", "--data", str(tmp_path))
    assert settings.today == multihop.TODAY and len(qset.questions) == 3


def test_jsonl_set_uses_the_given_corpus_and_its_own_eval_index(tmp_path: Path) -> None:
    questions = tmp_path / "mine.jsonl"
    questions.write_text('{"id": "a", "question": "Who?", "expect": [["x"]]}\n')
    qset, settings = prepare(str(questions), "--corpus", "corp", "--data", str(tmp_path / "d"))
    assert qset.name == "mine" and settings.corpus_dir == Path("corp")
    assert settings.data_dir == tmp_path / "d" / "eval-corpora" / "mine" / "index"


def test_the_source_digest_covers_the_subpackages(tmp_path: Path) -> None:
    """The report's engine hash changes when any module of the engine does, not only a top-level one."""
    package = tmp_path / "index"
    (package / "ask").mkdir(parents=True)
    (package / "engine.py").write_text("x = 1\n")
    (package / "ask" / "_compose.py").write_text("y = 1\n")
    before = cli.source_digest(package)
    (package / "ask" / "_compose.py").write_text("y = 2\n")
    assert cli.source_digest(package) != before
    assert len(before) == 12


def test_a_report_records_the_tunings_the_engine_answered_with(tmp_path: Path) -> None:
    from index.engine import Engine
    from tests.support.fakes import FakeEncoder

    engine = Engine(Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=tmp_path), embedder=FakeEncoder())  # type: ignore[call-arg]
    info = cli._engine_info(engine)
    assert info["tuning"] == json.loads(json.dumps(info["tuning"]))  # plain values, fit for report.json
    assert set(info) >= {"source_sha256", "tuning", "answer_tuning"}
