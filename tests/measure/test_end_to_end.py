"""One real evaluation: a tiny corpus written here, the real Engine, every report file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

ARTICLES = {
    "cisa-director.md": (
        "CISA names new director",
        "2023-07-12",
        "The Cybersecurity and Infrastructure Security Agency announced that Jen Easterly will lead the "
        "agency as director. Easterly previously worked at the National Security Agency. She said that "
        "protecting water utilities and hospitals from ransomware is her first priority.",
    ),
    "eu-cyber-resilience-act.md": (
        "EU agrees Cyber Resilience Act",
        "2023-12-01",
        "European Union negotiators reached a deal on the Cyber Resilience Act on Thursday. The law will "
        "require makers of connected devices to fix vulnerabilities for five years. Fines can reach 15 "
        "million euros for companies that ignore the rules.",
    ),
    "sec-disclosure-rule.md": (
        "SEC adopts breach disclosure rule",
        "2023-07-26",
        "The Securities and Exchange Commission adopted a rule that requires public companies to disclose "
        "material cybersecurity incidents within four business days. Chair Gary Gensler said investors "
        "benefit from timely and consistent information.",
    ),
}
QUESTIONS = [
    {
        "id": "1",
        "question": "Who was named director of CISA?",
        "expect": [["Easterly"]],
        "article": "cisa-director.md",
    },
    {
        "id": "2",
        "question": "How long must device makers fix vulnerabilities under the Cyber Resilience Act?",
        "expect": [["five years"]],
        "article": "eu-cyber-resilience-act.md",
    },
    {
        "id": "3",
        "question": "Within how many days must companies disclose incidents to the SEC?",
        "expect": [["four business days"]],
        "article": "sec-disclosure-rule",
    },
    {"id": "4", "question": "What did the Mars rover team decide about its budget?", "unanswerable": True},
]


@pytest.mark.slow
def test_eval_on_a_tiny_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, (title, published, body) in ARTICLES.items():
        (corpus / name).write_text(f"---\ntitle: {title}\nsource: Test Wire\npublished: {published}\n---\n\n{body}\n")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    out = tmp_path / "report"

    argv = [
        "eval",
        str(questions),
        "--corpus",
        str(corpus),
        "--data",
        str(tmp_path / "data"),
        "--report",
        str(out),
    ]
    assert main(argv) == 0
    assert "hybrid" in capsys.readouterr().out
    for name in ("report.json", "report.md", "report.png", "results.jsonl"):
        assert (out / name).stat().st_size > 0, name

    report = json.loads((out / "report.json").read_text())
    assert report["questions"] == 4 and report["errors"] == 0
    assert len(report["engine"]["source_sha256"]) == 12
    retrieval = report["retrieval"]
    assert retrieval["n"] == 3
    for mode in ("hybrid", "bm25", "dense"):
        row = retrieval[mode]
        assert all(0.0 <= value <= 1.0 for value in row.values()), (mode, row)
        assert row["hits@1"] <= row["hits@5"] <= row["hits@10"]
        assert row["hits@1"] <= row["mrr@10"] <= row["hits@10"]
    answers, abstention = report["answers"], report["abstention"]
    assert answers["n"] == 3 and 0.0 <= answers["exact_rate"] <= answers["fact_recall"] <= 1.0
    assert abstention["unanswerable"] == 1
    assert abstention["tp"] + abstention["fp"] + abstention["fn"] + abstention["tn"] == 4
    assert abstention["recall"] in (0.0, 1.0)
    assert 0.0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"]

    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in results] == ["1", "2", "3", "4"]
    assert sum(bool(r["top"]) for r in results) >= 3  # hybrid search retrieved something
    assert report["failures"] == (out / "report.md").read_text().count("\n### ")

    # A second run reuses the eval index (the build is incremental) and gives the same retrieval.
    assert main(argv) == 0
    again = json.loads((out / "report.json").read_text())
    assert again["retrieval"] == retrieval
