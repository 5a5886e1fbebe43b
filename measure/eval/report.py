"""Write an evaluation as ``report.json`` (numbers), ``results.jsonl`` (every question),
``report.md`` (short, for people) and ``report.png`` (a chart of the same numbers)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from measure.eval.runner import CUTOFFS, Result

MAX_LISTED_FAILURES = 40


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def failures(results: Sequence[Result]) -> list[dict[str, Any]]:
    """Every failed question with what was retrieved and answered, for tuning the engine."""
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "question": r.question,
            "why": r.failures,
            "gold": r.gold,
            "expect": r.expect,
            "top3": r.top,
            "answer": r.answer,
        }
        for r in results
        if r.failures
    ]


def write(out_dir: Path, summary: dict[str, Any], results: Sequence[Result]) -> dict[str, Path]:
    """Write all report files into ``out_dir`` (created); returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "report.json",
        "results": out_dir / "results.jsonl",
        "markdown": out_dir / "report.md",
        "chart": out_dir / "report.png",
    }
    failed = failures(results)
    paths["json"].write_text(
        json.dumps({**summary, "failures": len(failed)}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    with paths["results"].open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    chart(summary, paths["chart"])
    paths["markdown"].write_text(markdown(summary, failed, paths["chart"].name), encoding="utf-8")
    return paths


def markdown(summary: dict[str, Any], failed: Sequence[dict[str, Any]], chart_name: str) -> str:
    """The human-readable report: headline tables, then the first failures."""
    ret, ans, abst, lat = (
        summary["retrieval"],
        summary["answers"],
        summary["abstention"],
        summary["latency_ms"],
    )
    lines = [
        f"# Evaluation: {summary.get('set', '')}",
        "",
        f"{summary['questions']} questions ({summary['errors']} rejected by the engine); "
        f"created {summary.get('created', '')}.",
    ]
    lines += [f"- {note}" for note in summary.get("notes", [])]
    lines += [
        "",
        f"![chart]({chart_name})",
        "",
        f"## Retrieval by article ({ret['n']} questions with a gold article)",
        "",
    ]
    if ret["n"]:
        lines += ["| mode | H@1 | H@5 | H@10 | MRR@10 | recall@10 |", "|---|---:|---:|---:|---:|---:|"]
        for mode, row in ret.items():
            if mode == "n":
                continue
            cells = [row[f"hits@{k}"] for k in CUTOFFS] + [row["mrr@10"], row["recall@10"]]
            name = "hybrid (full pipeline)" if mode == "hybrid" else f"{mode} only"
            lines.append(f"| {name} | " + " | ".join(_fmt(c) for c in cells) + " |")
    lines += [
        "",
        "## Answers and abstention (full pipeline, `Engine.ask`)",
        "",
        "| metric | value |",
        "|---|---:|",
        f"| fact recall ({ans['n']} answerable questions with expectations) | {_fmt(ans['fact_recall'])} |",
        f"| exact-answer rate (all groups found) | {_fmt(ans['exact_rate'])} |",
        f"| median answer length (words, answered questions) | {_fmt(ans['answer_words_p50'])} |",
        f"| answers offering other stories (ambiguous questions) | {_fmt(ans.get('several_stories'))} |",
        f"| abstention precision ({abst['abstained']} abstained) | {_fmt(abst['precision'])} |",
        f"| abstention recall ({abst['unanswerable']} unanswerable) | {_fmt(abst['recall'])} |",
        f"| abstention F1 | {_fmt(abst['f1'])} |",
        f"| latency p50 / p95 of `ask` (ms) | {_fmt(lat['p50'])} / {_fmt(lat['p95'])} |",
    ]
    for mode, row in summary.get("search_ms", {}).items():
        lines.append(f"| latency p50 / p95 of `search` {mode} (ms) | {_fmt(row['p50'])} / {_fmt(row['p95'])} |")
    if summary.get("by_kind"):
        lines += [
            "",
            "## By kind of question",
            "",
            "| kind | n | H@1 | MRR@10 | fact recall | exact | abstained |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, row in summary["by_kind"].items():
            cells = [
                row["n"],
                row["hybrid_hits@1"],
                row["hybrid_mrr@10"],
                row["answer_fact_recall"],
                row["answer_exact_rate"],
                row["abstained"],
            ]
            lines.append(f"| {kind} | " + " | ".join(_fmt(c) for c in cells) + " |")
    lines += [
        "",
        f"## Failures ({len(failed)}; the first {min(len(failed), MAX_LISTED_FAILURES)} listed)",
        "",
    ]
    for f in failed[:MAX_LISTED_FAILURES]:
        expected = "; ".join(" / ".join(g) for g in f["expect"]) or "(should abstain)"
        answer = " ".join(f["answer"].split())
        lines += [
            f"### {f['id']}: {f['question']}",
            "",
            f"- why: {', '.join(f['why'])}",
            f"- expected: {expected}; gold: {', '.join(f['gold']) or '–'}",
            f"- retrieved: {' | '.join(f['top3']) or '–'}",
            f"- answer: {answer[:400] + ('…' if len(answer) > 400 else '') or '–'}",
            "",
        ]
    lines.append("Every question is in `results.jsonl`; all numbers are in `report.json`.")
    return "\n".join(lines) + "\n"


def chart(summary: dict[str, Any], path: Path) -> None:
    """Two panels: retrieval per mode (H@1/5/10, MRR) and the answer-side rates."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers or in CI
    import matplotlib.pyplot as plt

    ret, ans, abst = summary["retrieval"], summary["answers"], summary["abstention"]
    modes = [m for m in ret if m != "n"]
    labels = [f"H@{k}" for k in CUTOFFS] + ["MRR@10"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        values = [ret[mode][f"hits@{k}"] for k in CUTOFFS] + [ret[mode]["mrr@10"]] if ret["n"] else [0] * 4
        xs = [x + (i - (len(modes) - 1) / 2) * width for x in range(len(labels))]
        left.bar(xs, values, width, label=mode)
    left.set_xticks(range(len(labels)), labels)
    left.set_ylim(0, 1.15)
    left.set_title(f"Retrieval by article (n={ret['n']})")
    left.legend(loc="upper center", ncol=len(modes), fontsize=8)
    names = ["fact recall", "exact", "abst. P", "abst. R", "abst. F1"]
    values = [ans["fact_recall"], ans["exact_rate"], abst["precision"], abst["recall"], abst["f1"]]
    right.bar(names, [v or 0.0 for v in values], color="tab:green")
    for x, v in enumerate(values):
        right.text(x, (v or 0.0) + 0.02, _fmt(v), ha="center", fontsize=8)
    right.set_ylim(0, 1.08)
    right.set_title("Answers and abstention (ask)")
    right.tick_params(axis="x", labelrotation=20)
    fig.suptitle(str(summary.get("set", "")))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
