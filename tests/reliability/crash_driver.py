"""Randomised crash harness: SIGKILL ``policybot build``, ``policybot feeds poll --once`` and the bot's
SQLite writers at seeded moments, then check that nothing was lost or corrupted.

Run as its own process (``python -m tests.reliability.crash_driver --seed 11 --out report.json``);
``tests/reliability/test_crash.py`` does that and asserts on the JSON report. Why a separate
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

import argparse
import contextlib
import ipaddress
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
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


# ---- the network guard: this process and its children talk to 127.0.0.1 only -----------------
def guard_network() -> None:
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0]).split("%")[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise OSError(f"network guard: refusing to connect to {address!r}")
        real_connect(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]


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

    import index.engine
    import index.store._build
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

    index.engine.Embedder = lambda *a, **k: BatchedFake()  # type: ignore[assignment,misc]
    points.wrap(index.store._segment.SegmentWriter, "add", "writing", "article rows")
    points.wrap(index.store._segment._RowSpool, "finish", "writing", "vectors")
    points.wrap(np, "savez", "writing", "layout")
    points.wrap(index.store._segment, "write_json_durably", "writing", "manifest")
    points.wrap(index.store._versions, "place_segment", "writing", "segment placed")
    points.wrap(index.store._build, "_verify", "verifying", "new version")
    points.wrap(os, "replace", replace_stage, "os.replace")
    points.wrap(os, "fsync", "switch", "fsync")
    points.wrap(index.store._versions, "prune", "pruning", "old versions")


def install_feed_points(points: KillPoints) -> None:
    """Kill points through a poll: fetches, corpus writes, feed-store records (then the build's)."""
    import index.corpus._write
    import index.feeds._poll
    import index.feeds._store

    points.wrap(index.feeds._poll, "fetch", "feed: fetch", "feed or page")
    points.wrap(index.feeds._poll, "write_new", "feed: corpus write", "new article file")
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


# ---- scenario 2: policybot feeds poll --once ---------------------------------------------------
WORDS = tuple(
    ["agency", "regulator", "minister", "parliament", "court", "bank", "exchange", "vendor", "hospital", "utility", "operator", "insurer", "breach", "ransomware", "phishing", "sanction", "fine", "directive", "statute", "guidance", "audit", "disclosure", "deadline", "encryption", "vulnerability", "patch", "firmware", "satellite", "pipeline", "grid", "telecom", "cloud", "chip", "drone", "election", "treaty", "alliance", "summit", "inquiry", "lawsuit", "penalty", "license", "export", "import", "tariff", "subsidy", "budget"]
)


def story(rng: random.Random, n: int) -> tuple[str, str]:
    """A feed story with its own vocabulary (distinct stories must not look like wire copies)."""
    words = rng.sample(WORDS, 24)
    sentences = [
        f"In report {n} the {words[i]} and the {words[i + 1]} discussed the {words[i + 2]} with officials."
        for i in range(0, 21, 3)
    ]
    return f"Story {n}: {words[0]} {words[1]}", " ".join(sentences) + f" Case number {n} closes the report."


def page_html(title: str, body: str) -> str:
    return (
        f"<html><head><title>{title}</title><meta property='article:published_time' content='2024-04-30'></head>"
        f"<body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


def feed_xml(base: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><link>{base}/{guid}.html</link><title>{title}</title>"
        f"<pubDate>Tue, 30 Apr 2024 08:00:00 GMT</pubDate><description>{body}</description></item>"
        for guid, title, body in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Crash News</title><link>{base}/</link>{entries}</channel></rss>"


def feed_state(data: Path, corpus: Path) -> tuple[dict[str, int], dict[str, tuple[str, str | None]]]:
    """Corpus files per feed guid (front matter), and each recorded item's (status, file)."""
    import yaml

    files: Counter[str] = Counter()
    for path in (corpus / "feeds").rglob("*.md") if (corpus / "feeds").is_dir() else []:
        meta = yaml.safe_load(path.read_text().split("---")[1])
        files[str(meta.get("guid"))] += 1
    with contextlib.closing(sqlite3.connect(data / "feeds.sqlite")) as db:
        seen = {row[0]: (row[1], row[2]) for row in db.execute("SELECT guid, status, path FROM items")}
    return dict(files), seen


def check_feed_consistency(corpus: Path, files: dict[str, int], seen: dict[str, tuple[str, str | None]]) -> None:
    """No item twice in the corpus; every recorded item points at a file that exists."""
    assert all(c == 1 for c in files.values()), f"an item was ingested twice: {files}"
    for guid, (status, path) in seen.items():
        assert path is None or (corpus / path).is_file(), f"item {guid} ({status}) recorded without its file {path}"
        if status == "added":
            assert files.get(guid) == 1, f"item {guid} recorded as added but its file is missing"


def make_due(data: Path) -> None:
    """The harness's clock: the feed is due again (as if its interval had passed)."""
    with contextlib.closing(sqlite3.connect(data / "feeds.sqlite")) as db:
        db.execute("UPDATE feeds SET next_due = '2000-01-01T00:00:00+00:00'")
        db.commit()


def crash_feed_polls(root: Path, rng: random.Random, runs: int, env: dict[str, str]) -> dict[str, Any]:
    corpus, data, site = root / "feed-corpus", root / "feed-data", root / "site"
    site.mkdir(parents=True)
    for n in range(6):
        write_article(corpus, f"base{n}", *article_text(rng, n))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("feed server did not start")
            time.sleep(0.05)
        argv = ["feeds", "add", f"{base}/feed.xml", "--name", "Crash News", "--every", "5", "--data", str(data), "--corpus", str(corpus)]
        code, _, _ = run_child(argv, env, None, feed=True)
        assert code == 0, f"feeds add failed ({code})"
        poll = ["feeds", "poll", "--once", "--data", str(data), "--corpus", str(corpus)]
        items: list[tuple[str, str, str]] = []
        labels: Counter[str] = Counter()
        killed = 0
        live: str | None = None
        counts = {"feed: fetch": 2, "feed: corpus write": 2, "feed: record": 4}
        statuses: Counter[str] = Counter()
        counted: set[str] = set()
        for _run in range(runs):
            for _ in range(rng.randint(1, 3)):  # the feed grows by one to three stories
                n = 100 + len(items)
                title, body = story(rng, n)
                if n % 4 == 3 and items:  # a wire copy of the previous story: folded, not a new file
                    title, body = items[0][1] + " (wire)", "WASHINGTON (Wire) - " + items[0][2]
                guid = f"story-{n}"
                (site / f"{guid}.html").write_text(page_html(title, body))
                items.insert(0, (guid, title, body))
            (site / "feed.xml").write_text(feed_xml(base, items[:30]))
            # http.server's Last-Modified has one-second resolution: a feed rewritten within the same
            # second would rightly be answered 304; move its clock on as real time would.
            stamp = time.time() + 10 * (_run + 1)
            os.utime(site / "feed.xml", (stamp, stamp))
            make_due(data)
            code, label, _ = run_child(poll, env, choose(rng, counts), feed=True)
            files, seen = feed_state(data, corpus)
            check_feed_consistency(corpus, files, seen)
            if label is not None:
                killed += 1
                labels[label] += 1
                if (data / "CURRENT").exists():
                    live = check_index(data, corpus, live, None)
            guids = {g for g, _, _ in items}
            for _attempt in range(3):  # an item whose page fetch failed (a loaded machine) is retried next poll
                make_due(data)
                code, _, done_counts = run_child(poll, env, None, feed=True)  # the next poll completes
                assert code == 0, f"poll after the kill failed ({code})"
                counts = done_counts or counts  # the next poll does about as much (one to three new stories)
                files, seen = feed_state(data, corpus)
                check_feed_consistency(corpus, files, seen)
                if guids <= set(seen):
                    break
            if not guids <= set(seen):
                from index.feeds import FeedStore

                with FeedStore.open(data) as store:
                    why = [(f.name, f.last_error, f.consecutive_failures) for f in store.list_feeds()]
                raise AssertionError(f"items lost (never recorded): {guids - set(seen)}; feed state {why}")
            statuses.update(seen[g][0] for g in guids if g not in counted)
            counted.update(guids)
            live = check_index(data, corpus, live, corpus_ids(corpus))  # every story is indexed
        return {"runs": runs, "killed": killed, "kill_points": dict(sorted(labels.items())), "items": len(items), "item_outcomes": dict(statuses), "losses": 0}
    finally:
        server.kill()
        server.wait()


# ---- scenario 3: the bot's SQLite stores --------------------------------------------------------
def store_writer(kind: str, path: Path, fd: int) -> None:
    """Child: commit one record after another, acknowledging each only after it committed."""
    if kind == "feedback":
        from bot.features.answers.feedback import FeedbackStore

        fb = FeedbackStore(path)
        for n in range(100_000):
            rid = fb.save_answer(question=f"q{n}", answer_json={"answerable": True, "answer": "a" * 200}, user_id=n, guild_id=1, channel_id=2)
            assert fb.vote(rid, n, 1 if n % 2 else -1)
            os.write(fd, f"{rid} {n}\n".encode())
    elif kind == "watches":
        from bot.features.watch.store import WatchStore

        ws = WatchStore(path, max_per_user=1_000_000)
        for n in range(100_000):
            w = ws.add(n % 50, f"watch question number {n}")
            os.write(fd, f"{w.id} {w.user_id}\n".encode())
    else:
        from bot.core.guild_settings import GuildSettings

        gs = GuildSettings(path)
        for n in range(100_000):
            gs.set(n, "answers", "written" if n % 2 else "quoted")
            os.write(fd, f"{n} {'written' if n % 2 else 'quoted'}\n".encode())


def crash_stores(root: Path, rng: random.Random, runs: int) -> dict[str, Any]:
    from bot.core.guild_settings import GuildSettings
    from bot.features.answers.feedback import FeedbackStore
    from bot.features.watch.store import WatchStore

    kinds = ["feedback", "watches", "guild_settings"]
    acknowledged = lost = 0
    per_kind: Counter[str] = Counter()
    for run in range(runs):
        kind = kinds[run % 3]
        path = root / "stores" / f"{kind}.sqlite"
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                store_writer(kind, path, write_fd)
            finally:
                os._exit(0)
        os.close(write_fd)
        want = rng.randint(5, 400)  # kill after this many acknowledged commits, while more are in flight
        acks: list[list[str]] = []
        with os.fdopen(read_fd) as pipe:
            for line in pipe:
                acks.append(line.split())
                if len(acks) >= want:
                    os.kill(pid, signal.SIGKILL)
                    break
        os.waitpid(pid, 0)
        per_kind[kind] += 1
        acknowledged += len(acks)
        if kind == "feedback":
            fb = FeedbackStore(path)
            votes = {v["answer_id"] for v in fb.votes()}
            lost += sum(1 for rid, _ in acks if rid not in votes or fb.get_answer(rid) is None)
            fb.close()
        elif kind == "watches":
            ws = WatchStore(path)
            ids = {w.id for w in ws.every()}
            lost += sum(1 for wid, _ in acks if int(wid) not in ids)
            ws.close()
        else:
            gs = GuildSettings(path)
            lost += sum(1 for gid, value in acks if gs.get(int(gid), "answers") != value)
            gs.close()
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    return {"runs": runs, "per_store": dict(per_kind), "acknowledged_commits": acknowledged, "losses": lost}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--builds", type=int, default=28)
    parser.add_argument("--polls", type=int, default=16)
    parser.add_argument("--stores", type=int, default=12)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    guard_network()
    sys.path.insert(0, str(REPO))
    # Imported once here, so every forked child starts with them loaded (a run costs a fork, not an import).
    import bot.cli  # noqa: F401
    import index.engine
    import index.feeds._poll  # noqa: F401
    import tests.support.fakes  # noqa: F401
    from index.ask._entities import spacy_loader

    # No spaCy thread in a process that forks (a fork while it imports could deadlock the child);
    # the checks need answers and sources, not bold names.
    spacy_loader._started = True
    spacy_loader._ready.set()
    env = {"POLICYBOT_FETCH_ALLOW_PRIVATE": "1", "POLICYBOT_FETCH_TIMEOUT": "5", "POLICYBOT_KEEP_VERSIONS": "3"}
    started = time.monotonic()
    report: dict[str, Any] = {"seed": args.seed}
    report["build"] = crash_builds(args.root / "build", random.Random(args.seed), args.builds, env)
    report["feeds_poll"] = crash_feed_polls(args.root / "feeds", random.Random(args.seed + 1), args.polls, env)
    report["stores"] = crash_stores(args.root, random.Random(args.seed + 2), args.stores)
    report["total_runs"] = args.builds + args.polls + args.stores
    report["total_kills"] = report["build"]["killed"] + report["feeds_poll"]["killed"] + args.stores
    report["losses"] = report["build"]["losses"] + report["feeds_poll"]["losses"] + report["stores"]["losses"]
    report["seconds"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
