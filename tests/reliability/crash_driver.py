"""Randomised crash harness: SIGKILL ``policybot build``, ``policybot feeds poll --once`` and the bot's
SQLite writers at seeded moments, then check that nothing was lost or corrupted.

This module forks the children, places the kill points and checks the index; it holds scenario 1
(builds); ``crash_feeds`` and ``crash_stores`` hold the others, and ``crash_run`` is the process
(``python -m tests.reliability.crash_run --seed 11 --out report.json``) that
``tests/reliability/test_crash.py`` runs and whose JSON report it asserts on. Why a separate
driver: it imports the engine once and *forks* one child per run (a fresh interpreter per run
would cost seconds each on a busy 2-core machine), and each child is the real entry point
(``bot.cli.main``) with the fast :class:`tests.support.fakes.FakeEncoder` in place of the model.

How a "random moment" is chosen reproducibly: the child counts *kill points* as it reaches them
(each embedding batch, each article written, the FAISS and vector files, fsyncs, every
``os.replace`` — which includes the ``CURRENT`` switch —, each feed fetch, corpus file write and
feed-store record). The seeded RNG picks the N-th point; when the child reaches it, it tells the
parent which point it is at and waits, and the parent sends SIGKILL. Store writers are killed
from outside after a seeded number of acknowledged commits, mid-stream.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOPICS = [
    ("ransomware", "The Treasury sanctioned a crypto exchange that laundered ransom payments for criminal gangs."),
    ("ivanti", "CISA ordered agencies to disconnect Ivanti appliances after attackers exploited two flaws."),
    ("cra", "European lawmakers agreed the Cyber Resilience Act, which sets duties for makers of connected products."),
    ("sec", "The SEC adopted rules requiring listed companies to disclose material cyber incidents within four days."),
    ("nis2", "The NIS2 directive widens the sectors that must report significant incidents to national authorities."),
    ("tiktok", "Lawmakers debated a bill that would force the sale of a video app over data security concerns."),
    ("grid", "Regulators proposed standards to protect the electric grid's supply chain from tampered equipment."),
    ("health", "A hospital chain paid a penalty after a breach exposed millions of patient records to thieves."),
]
FILLER = [
    "Officials said the measure had been discussed for months with industry groups and allies.",
    "Critics argued that smaller firms would struggle with the cost of meeting the new duties.",
    "The agency will publish guidance later this year and take questions from the public.",
    "Several companies said they were reviewing the decision and would comply with it.",
    "Analysts expect further rules on software security and incident reporting next year.",
]


# ---- corpus ---------------------------------------------------------------------------------
def article_text(rng: random.Random, n: int, variant: int = 0) -> tuple[str, str]:
    key, lead = TOPICS[n % len(TOPICS)]
    body = [lead.replace("The ", f"In case {n}, the ", 1), *rng.sample(FILLER, 3)]
    if variant:
        body.append(f"A revision numbered {variant} added that the deadline was extended for case {n}.")
    return f"{key.title()} case {n}", " ".join(body)


def write_article(corpus: Path, name: str, title: str, body: str) -> Path:
    corpus.mkdir(parents=True, exist_ok=True)
    path = corpus / f"{name}.md"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        f'---\ntitle: "{title}"\nsource: crash wire\npublished: 2024-03-0{1 + len(name) % 9}\n'
        f"url: https://example.org/{name}\n---\n{body}\n"
    )
    os.replace(tmp, path)  # the harness edits the corpus atomically, like corpus_edit does
    return path


# ---- kill points inside a child ---------------------------------------------------------------
class KillPoints:
    """Counts kill points by stage; at the chosen one, reports its label on ``fd`` and waits to be killed.

    ``target`` is ``(stage, n)``: the n-th point of that stage. Choosing the stage first keeps the
    rare, short stages (the switch) as likely to be hit as the long ones (writing articles).
    """

    def __init__(self, target: tuple[str, int] | None, fd: int) -> None:
        self.target = target
        self.fd = fd
        self.counts: Counter[str] = Counter()

    def tick(self, stage: str, detail: str) -> None:
        self.counts[stage] += 1
        if self.target is not None and self.target == (stage, self.counts[stage]):
            os.write(self.fd, (json.dumps({"killed_at": f"{stage}: {detail}"}) + "\n").encode())
            time.sleep(120)  # the parent's SIGKILL arrives here, in the middle of the work

    def wrap(self, owner: Any, name: str, stage: str | Callable[[tuple[Any, ...]], str], detail: str) -> None:
        real = getattr(owner, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            where = stage(args) if callable(stage) else stage
            self.tick(where, detail + " (before)")
            result = real(*args, **kwargs)
            self.tick(where, detail + " (after)")
            return result

        setattr(owner, name, wrapped)


def replace_stage(args: tuple[Any, ...]) -> str:
    """What an ``os.replace`` is doing, from its target."""
    target = Path(str(args[1])).name if len(args) > 1 else ""
    if target == "CURRENT":
        return "switch"
    if target.startswith("v0"):
        return "switch"
    if target.startswith("build.progress"):
        return "progress file"
    return "file write"


def install_build_points(points: KillPoints) -> None:
    """Kill points through the build: embedding batches, writing, verifying and the switch."""
    import numpy as np

    import index.models._factory
    import index.store._execute
    import index.store._segment
    import index.store._versions
    from tests.support.fakes import FakeEncoder

    class BatchedFake(FakeEncoder):
        """The fake model, encoding in batches of 8 like the real one, one kill point per batch."""

        def encode_chunks(self, texts: Any, spans: Any, progress: Callable[[int], None] | None = None) -> Any:
            out = []
            for start in range(0, len(texts), 8):
                points.tick("embedding", f"batch {start // 8 + 1}")
                out += super().encode_chunks(texts[start : start + 8], spans[start : start + 8])
                if progress:
                    progress(len(texts[start : start + 8]))
            return out

    index.models._factory.make_embedder = lambda settings: BatchedFake()  # type: ignore[assignment,return-value]
    points.wrap(index.store._segment.SegmentWriter, "add", "writing", "article rows")
    points.wrap(index.store._segment._RowSpool, "finish", "writing", "vectors")
    points.wrap(np, "savez", "writing", "layout")
    points.wrap(index.store._segment, "write_json_durably", "writing", "manifest")
    points.wrap(index.store._versions, "place_segment", "writing", "segment placed")
    points.wrap(index.store._execute, "_verify", "verifying", "new version")
    points.wrap(os, "replace", replace_stage, "os.replace")
    points.wrap(os, "fsync", "switch", "fsync")
    points.wrap(index.store._versions, "prune", "pruning", "old versions")


def install_feed_points(points: KillPoints) -> None:
    """Kill points through a poll: fetches, corpus writes, feed-store records (then the build's)."""
    import index.corpus._write
    import index.feeds._ingest
    import index.feeds._poll
    import index.feeds._store

    points.wrap(index.feeds._poll, "fetch", "feed: fetch", "feed or page")
    points.wrap(index.feeds._ingest, "write_new", "feed: corpus write", "new article file")
    points.wrap(index.feeds._store.FeedStore, "record_item", "feed: record", "item")
    points.wrap(index.feeds._store.FeedStore, "record_success", "feed: record", "feed success")
    points.wrap(index.feeds._poll, "sync_corpus", "feed: corpus sync", "store vs corpus")
    install_build_points(points)


def run_child(
    argv: list[str], env: dict[str, str], target: tuple[str, int] | None, feed: bool
) -> tuple[int, str | None, dict[str, int]]:
    """Fork one ``policybot`` run; kill it at ``target``. Returns (exit status, kill label, points per stage)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the real entry point with kill points
        os.close(read_fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        code = 70
        try:
            os.environ.update(env)
            points = KillPoints(target, write_fd)
            (install_feed_points if feed else install_build_points)(points)
            from bot.cli import main

            code = main(argv)
            os.write(write_fd, (json.dumps({"done": points.counts}) + "\n").encode())
        except BaseException:
            import traceback

            os.write(write_fd, (json.dumps({"error": traceback.format_exc()}) + "\n").encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    label: str | None = None
    counts: dict[str, int] = {}
    with os.fdopen(read_fd) as pipe:
        line = pipe.readline()
        if line:
            msg = json.loads(line)
            if "killed_at" in msg:
                label = msg["killed_at"]
                os.kill(pid, signal.SIGKILL)
            elif "done" in msg:
                counts = msg["done"]
            else:
                raise RuntimeError(f"child failed: {msg['error']}")
    _, status = os.waitpid(pid, 0)
    return (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)), label, counts


def choose(rng: random.Random, counts: dict[str, int]) -> tuple[str, int]:
    """A seeded kill point: a stage the last complete run went through, then one of its points."""
    stage = rng.choice(sorted(counts))
    return stage, rng.randint(1, counts[stage])


# ---- checks after a kill ------------------------------------------------------------------------
def check_index(data: Path, corpus: Path, previous: str | None, expect_ids: set[str] | None) -> str:
    """Every version verifies; the live one answers; returns its name."""
    from index.engine import Engine
    from index.settings import Settings
    from index.store import _versions as versions
    from index.store._snapshot import verify_version
    from tests.support.fakes import FakeEncoder

    for folder in versions.versions_dir(data).glob("v*"):
        verify_version(folder)
    live = versions.current_version(data)
    assert live is not None, "no live version after a kill"
    if previous is not None:
        assert live >= previous, f"CURRENT went back from {previous} to {live}"
    settings = Settings(_env_file=None, data_dir=data, corpus_dir=corpus)  # type: ignore[call-arg]
    engine = Engine(settings, embedder=FakeEncoder())
    answer = engine.ask("Which agency ordered the Ivanti appliances disconnected?")
    assert answer.index_version == live, (answer.index_version, live)
    assert answer.sources, "the live index did not answer"
    if expect_ids is not None:
        held = {a.citation.article_id for a in engine.articles()}
        assert held == expect_ids, f"lost {expect_ids - held}, extra {held - expect_ids}"
    return live


def corpus_ids(corpus: Path) -> set[str]:
    from index.corpus._read import article_id_for, iter_corpus_files

    return {article_id_for(p) for p in iter_corpus_files(corpus)}


# ---- scenario 1: policybot build ---------------------------------------------------------------
def crash_builds(root: Path, rng: random.Random, runs: int, env: dict[str, str]) -> dict[str, Any]:
    corpus, data = root / "corpus", root / "data"
    for n in range(40):
        write_article(corpus, f"a{n:03d}", *article_text(rng, n))
    argv = ["build", "--data", str(data), "--corpus", str(corpus)]
    code, _, counts = run_child(argv, env, None, feed=False)
    assert code == 0, f"first build failed ({code})"
    live = check_index(data, corpus, None, corpus_ids(corpus))
    labels: Counter[str] = Counter()
    killed = losses = 0
    next_id = 40
    for run in range(runs):
        # a seeded change: new articles, an edited one, sometimes a removal; every 5th a full build
        for _ in range(rng.randint(1, 3)):
            write_article(corpus, f"a{next_id:03d}", *article_text(rng, next_id))
            next_id += 1
        victim = rng.choice(sorted(corpus.glob("a*.md")))
        write_article(corpus, victim.stem, *article_text(rng, int(victim.stem[1:]), variant=run + 1))
        if rng.random() < 0.2:
            rng.choice(sorted(corpus.glob("a*.md"))).unlink()
        full = run % 5 == 4
        args = [*argv, "--full"] if full else argv
        code, label, _ = run_child(args, env, choose(rng, counts), feed=False)
        if label is not None:
            killed += 1
            labels[label] += 1
            assert code == -signal.SIGKILL, code
            live = check_index(data, corpus, live, None)  # the previous (or, after the switch, new) version answers
        code, _, counts = run_child(args, env, None, feed=False)  # the next run completes
        assert code == 0, f"build after the kill failed ({code})"
        before = live
        live = check_index(data, corpus, before, corpus_ids(corpus))  # and holds exactly the corpus: nothing lost
        assert live > before
        assert not list((data / "versions").glob(".tmp-*")), "debris of a killed build was left behind"
    return {"runs": runs, "killed": killed, "kill_points": dict(sorted(labels.items())), "losses": losses}
