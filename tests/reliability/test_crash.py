"""Crash safety, randomised: ``policybot build``, ``policybot feeds poll --once`` and the bot's SQLite
stores are SIGKILLed at seeded moments (56 runs; see :mod:`tests.reliability.crash_run`).

After each kill the previous version answers, every version folder verifies, feed state is
consistent (no item twice, none recorded without its file), and the next run completes with the
whole corpus indexed and every feed item recorded; no acknowledged vote, watch or setting is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.slow  # about a minute: 56 forked runs of the real entry point

SEED = 11


def test_sigkill_at_seeded_moments_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    env = {k: v for k, v in env.items() if not k.startswith(("POLICYBOT_", "DISCORD_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.crash_run", "--seed", str(SEED), "--root", str(tmp_path), "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    print(json.dumps(report, indent=2))  # the figures docs/reliability.md quotes
    assert report["total_runs"] >= 50 and report["losses"] == 0
    assert report["build"]["killed"] >= 20 and report["feeds_poll"]["killed"] >= 10
    assert report["stores"]["acknowledged_commits"] > 0 and report["stores"]["losses"] == 0
    points = set(report["build"]["kill_points"]) | set(report["feeds_poll"]["kill_points"])
    for stage in ("embedding", "writing", "switch", "feed:"):  # mid-embedding, mid-write, mid-switch, mid-poll
        assert any(p.startswith(stage) for p in points), (stage, sorted(points))
