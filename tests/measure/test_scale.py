"""``policybot bench --scale`` end to end on a tiny corpus: every number of the curve is produced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from measure.bench.scale import SyntheticEncoder


def test_synthetic_vectors_have_neighbourhoods() -> None:
    """Chunks of one article sit together, one topic's articles near each other, others apart."""
    enc = SyntheticEncoder()
    a, b = enc.encode_chunks(["A (report 7) one.", "B (report 7) two."], [[(0, 3)], [(0, 3)]])
    other = enc.encode_chunks(["C (report 8) three."], [[(0, 3)]])[0]
    same_topic = enc.encode_chunks(["D (report 4103) four."], [[(0, 3)]])[0]  # 7 + 4096
    assert float(a.vector @ b.vector) > float(a.vector @ same_topic.vector) > float(a.vector @ other.vector) + 0.3
    assert np.allclose(np.linalg.norm(a.sentence_vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_scale_bench_reports_the_curve(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "bench", "--scale", "30,60", "--queries", "12",
         "--scale-dir", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "| articles | chunks | search p50 / p95 |" in run.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [r["articles"] for r in rows] == [30, 60]
    for row in rows:
        assert row["base_build"]["added"] == row["articles"] and row["increment"]["added"] == 1000
        assert row["increment_walk"]["added"] == 1000 and row["increment_walk"]["articles"] == row["articles"] + 2000
        assert row["no_change"]["chunks_embedded"] == 0 and row["no_change"]["added"] == 0
        assert row["serve"]["recall_at_10"] == 1.0 and row["serve"]["p50_ms"] > 0
        assert len(row["serve_after_increment"]["segments"]) == 3  # each increment is its own segment
        assert row["disk_mb"] > 0 and row["serve"]["peak_rss_mb"] > 0
    assert rows[1]["ratios_to_smallest"]["p50"] > 0
