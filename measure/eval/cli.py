"""``policybot eval``: the command line of the evaluation harness.

Every set is evaluated on its own index under ``<data>/eval-corpora/<set>/`` so an evaluation never
touches the index the bot serves, and the engine's incremental build makes repeated runs cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from index.errors import PolicybotError
from index.settings import Settings
from measure.eval import report as report
from measure.eval import runner as runner
from measure.eval import written as written_eval
from measure.eval.dataset import DatasetError, Question, QuestionSet, load_jsonl, select
from measure.eval.sets import multihop, squad
from measure.eval.sets.common import Doc, write_corpus

BUILT_IN = ("squad-v1", "squad-v2", "multihop")
REPO = Path(__file__).resolve().parents[2]


def benchmarks_dir(settings: Settings) -> Path:
    """``POLICYBOT_BENCHMARKS``, else ``../shared/benchmarks`` beside the repository."""
    folder = settings.benchmarks_dir or REPO.parent / "shared" / "benchmarks"
    if not folder.is_dir():
        raise DatasetError(
            f"benchmark folder {folder} not found: set POLICYBOT_BENCHMARKS to the folder that holds "
            "squad-dev/ and multihop-rag-500/"
        )
    return folder


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` on the main parser's subparsers (through ``measure/cli.py``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="measure retrieval, answers, abstention and latency on a question set",
        description=(
            "Evaluate the engine on a JSONL question set or a built-in benchmark "
            f"({', '.join(BUILT_IN)}), with BM25-only and dense-only baselines on the same index."
        ),
    )
    p.add_argument("set", help=f"a questions .jsonl file, or one of: {', '.join(BUILT_IN)}")
    p.add_argument("--corpus", type=Path, help="corpus folder for a .jsonl set (default: POLICYBOT_CORPUS or corpus/)")
    p.add_argument(
        "--data",
        type=Path,
        help="data folder; eval indexes go to <data>/eval-corpora/ (default: POLICYBOT_DATA or data/)",
    )
    p.add_argument("--model", help="sentence-transformers model name or path (env POLICYBOT_MODEL)")
    p.add_argument("--report", type=Path, help="report folder (default: reports/<set>)")
    p.add_argument("--limit", type=int, help="evaluate only the first N questions (after sampling)")
    p.add_argument("--sample", type=int, help="evaluate a seeded random sample of N questions")
    p.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")
    p.add_argument(
        "--titles",
        choices=("all", "train", "calibration", "test"),
        default="all",
        help="SQuAD sets: ask only the questions of these articles of the reader's split (test: never trained on)",
    )
    p.add_argument(
        "--written",
        action="store_true",
        help="also write each answer with the language model (POLICYBOT_LLM_URL or POLICYBOT_LLM_GGUF) and score it",
    )
    p.add_argument(
        "--extra-articles", type=int, help="with --written: next-ranked articles the model may also cite (default 2)"
    )
    p.set_defaults(func=run)
    return p


def _prepare(args: argparse.Namespace, base: Settings) -> tuple[QuestionSet, Settings]:
    """Load the questions and write the set's corpus; returns the settings of its eval index."""
    today: date | None = None
    notes: list[str] = []
    if args.set in BUILT_IN:
        if args.corpus:
            raise DatasetError("--corpus only applies to .jsonl sets: built-in sets bring their own corpus")
        if getattr(args, "titles", "all") != "all" and not args.set.startswith("squad"):
            raise DatasetError("--titles only applies to the SQuAD sets")
        bench = benchmarks_dir(base)
        docs: list[Doc]
        questions: list[Question]
        if args.set == "multihop":
            docs, questions = multihop.load_multihop(bench)
            today = multihop.TODAY
            notes.append(
                "Corpus rebuilt from the evidence facts only (one short document per evidence article, "
                "no distractors); yes/no judgements cannot be produced by an extractive engine."
            )
        else:
            titles = None if getattr(args, "titles", "all") == "all" else squad.split_titles(args.titles)
            docs, questions = squad.load_squad(bench, args.set, titles)
            notes.append("One document per paragraph; all paragraphs of the dev set are indexed.")
            if titles is not None:
                notes.append(f"Questions of the reader's {args.titles} articles only ({len(titles)} titles).")
        root = base.data_dir / "eval-corpora" / args.set
        corpus_dir = root / "corpus"
        written = write_corpus(docs, corpus_dir)
        print(f"{args.set}: {len(docs)} documents in {corpus_dir} ({written} written)", file=sys.stderr)
        name = args.set
    else:
        if getattr(args, "titles", "all") != "all":
            raise DatasetError("--titles only applies to the SQuAD sets")
        path = Path(args.set)
        if path.suffix != ".jsonl" and not path.exists():
            raise DatasetError(f"unknown set {args.set!r}: give a .jsonl file or one of {', '.join(BUILT_IN)}")
        loaded = load_jsonl(path)
        questions, name, corpus_dir = list(loaded.questions), loaded.name, base.corpus_dir
        root = base.data_dir / "eval-corpora" / name
    chosen = select(questions, limit=args.limit, sample=args.sample, seed=args.seed)
    if len(chosen) < len(questions):
        how = f"a random sample (seed {args.seed})" if args.sample else "the first"
        notes.append(f"{len(chosen)} of {len(questions)} questions: {how}.")
    settings = base.with_(data_dir=root / "index", corpus_dir=corpus_dir, today=today or base.today)
    return QuestionSet(name=name, questions=chosen, corpus_dir=corpus_dir, notes=tuple(notes)), settings


def built_engine(set_name: str, data: Path, *, sample: int | None = None, seed: int = 1, titles: str = "all") -> tuple[QuestionSet, Any]:
    """A set's questions and an engine over its eval index under ``data``, built: how the calibration
    scripts ask a set's questions exactly as ``policybot eval`` would."""
    from index.engine import Engine

    args = argparse.Namespace(set=set_name, corpus=None, limit=None, sample=sample, seed=seed, titles=titles)
    qset, settings = _prepare(args, Settings(_env_file=None, data_dir=data))  # type: ignore[call-arg]
    engine = Engine(settings)
    engine.build()
    return qset, engine


def _build(engine: Any) -> dict[str, Any]:
    """Bring the eval index up to date with its corpus (incremental: unchanged files are reused)."""
    last = [""]

    def progress(p: Any) -> None:
        line = f"build: {p.stage} {p.done}/{p.total}"
        if p.stage != last[0] or p.done == p.total:
            last[0] = p.stage
            print(line, file=sys.stderr)

    built = engine.build(progress=progress)
    print(
        f"index {built.version}: {built.articles} articles, {built.chunks_embedded} chunks embedded "
        f"in {built.seconds:.0f}s",
        file=sys.stderr,
    )
    for name, reason in built.errors[:10]:
        print(f"warning: skipped {name}: {reason}", file=sys.stderr)
    return {"version": built.version, "articles": built.articles, "skipped": len(built.errors)}


def source_digest(package: Path) -> str:
    """A short hash of every ``.py`` file under ``package``, subpackages included, by relative path."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _engine_info(engine: Any) -> dict[str, Any]:
    """Which engine produced the numbers: a hash of the ``index`` package's code and the tuning in effect.

    The engine is tuned while it is evaluated; without this, two reports cannot be compared.
    """
    info: dict[str, Any] = {"source_sha256": source_digest(REPO / "index")}
    asker = getattr(engine, "asker", engine)  # the ask service holds the tunings in effect
    for name in ("tuning", "answer_tuning"):
        value = getattr(asker, name, None)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            info[name] = dataclasses.asdict(value)
    settings = getattr(engine, "settings", None)
    for name in ("rescore_model", "reranker", "reader_model"):  # second stages and the short-answer reader
        if getattr(settings, name, None):
            info[name] = getattr(settings, name)
    return info


def evaluate(
    qset: QuestionSet, settings: Settings, out_dir: Path, *, written: bool = False, extra_articles: int | None = None
) -> dict[str, Any]:
    """Build the index, run every question through the engine and write the report."""
    from index.engine import Engine  # imported here: it pulls in torch, which the tests of this module avoid

    engine = Engine(settings)
    if written and not engine.writer.can_write:
        raise DatasetError("--written needs a language model: set POLICYBOT_LLM_URL or POLICYBOT_LLM_GGUF")
    if extra_articles is not None:
        engine.writer.extra_articles = extra_articles
    index_info = _build(engine)
    engine.warm()
    with contextlib.suppress(PolicybotError):  # one untimed question loads the lazy NER model too
        engine.ask("What is in the index?")
    results = runner.run(engine, qset, progress=runner.print_progress(qset.name), written=written)
    summary: dict[str, Any] = {
        "set": qset.name,
        "created": datetime.now().isoformat(timespec="seconds"),
        "notes": list(qset.notes),
        "corpus_dir": str(settings.corpus_dir),
        "data_dir": str(settings.data_dir),
        "model": settings.model,
        "engine": _engine_info(engine),
        "index": index_info,
        **runner.summarize(results),
    }
    if written:
        backend = engine.writer.backend()
        summary["written"] = {
            "backend": backend.name if backend else "",
            "extra_articles": engine.writer.extra_articles,
            **written_eval.summarize(results),
        }
    paths = report.write(out_dir, summary, results)
    if written and "markdown" in paths:
        with paths["markdown"].open("a", encoding="utf-8") as md:
            md.write(written_eval.markdown(summary["written"]))
    return summary


def _headline(summary: dict[str, Any]) -> str:
    def f(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    ret, ans, abst, lat = (
        summary["retrieval"],
        summary["answers"],
        summary["abstention"],
        summary["latency_ms"],
    )
    lines = [f"{summary['set']}: {summary['questions']} questions"]
    for mode in runner.MODES:
        row = ret[mode]
        lines.append(
            f"  {mode:6}  H@1 {f(row['hits@1'])}  H@5 {f(row['hits@5'])}  H@10 {f(row['hits@10'])}  "
            f"MRR {f(row['mrr@10'])}  (n={ret['n']})"
        )
    lines.append(
        f"  answers: fact recall {f(ans['fact_recall'])}, exact {f(ans['exact_rate'])} (n={ans['n']}); "
        f"abstention P {f(abst['precision'])} R {f(abst['recall'])} F1 {f(abst['f1'])}, "
        f"false declines {f(abst.get('false_declines'))}; short answer EM {f(ans.get('em'))} F1 {f(ans.get('f1'))}; "
        f"ask p50 {f(lat['p50'])} ms, p95 {f(lat['p95'])} ms"
    )
    if "written" in summary:
        lines.append(written_eval.headline(summary["written"]))
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of ``policybot eval``: 0 on success, 2 on a usage or data problem."""
    for flag in ("limit", "sample"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            print(f"error: --{flag} must be at least 1", file=sys.stderr)
            return 2
    try:
        qset, settings = _prepare(args, settings)
        out_dir = args.report or Path("reports") / qset.name
        summary = evaluate(qset, settings, out_dir, written=args.written, extra_articles=args.extra_articles)
    except PolicybotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(_headline(summary))
    print(f"report: {out_dir / 'report.md'}")
    return 0
