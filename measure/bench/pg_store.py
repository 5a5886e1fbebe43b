"""``policybot bench --backend postgres``, the store's part: what PostgreSQL adds to an increment's
build and publish, how soon a second engine with its own data folder serves the new version, and how
soon a standby holds the leader lock after the leader dies. Everything runs in a scratch database."""

from __future__ import annotations

import contextlib
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from index.database import AdvisoryLock, connect
from index.engine import Engine
from index.settings import Settings
from index.store import build_index, open_home
from measure.bench.scale import SyntheticEncoder, age_corpus, bench_settings, write_articles

DEFAULT_BASE = 2000
DEFAULT_INCREMENT = 1000
DEFAULT_TRIALS = 5
DEFAULT_RETRY = 1.0
LEADER = "leader"  # the bot's lock name; advisory locks are per database, so the scratch one is private
POLLS = 200
KILLS = ("pg_terminate_backend", "SIGKILL")


def database_in(server_url: str, name: str) -> str:
    """``server_url`` pointed at database ``name`` (its path), host, user and options kept."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new empty database for the bench, dropped afterwards: the configured one is never written."""
    name = f"pb_bench_{uuid.uuid4().hex[:12]}"
    with connect(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_in(server_url, name)
    finally:
        with connect(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_bench(
    server_url: str,
    work: Path,
    settings: Settings,
    *,
    base: int = DEFAULT_BASE,
    increment: int = DEFAULT_INCREMENT,
    trials: int = DEFAULT_TRIALS,
    retry: float = DEFAULT_RETRY,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The increment on both backends, then the leader fail-over, each in a scratch database."""
    rows = []
    for backend in ("files", "postgres"):
        folder = work / backend
        try:
            if backend == "files":
                rows.append(_increment(settings, folder, None, base, increment, log))
            else:
                with scratch_database(server_url) as url:
                    rows.append(_increment(settings, folder, url, base, increment, log))
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # corpora and indexes add up at larger sizes
    with scratch_database(server_url) as url:
        failover = failover_bench(url, trials=trials, retry=retry, log=log)
    return {"base": base, "increment": increment, "rows": rows, "failover": failover}


def _increment(
    settings: Settings, folder: Path, url: str | None, base: int, increment: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Base build, a reader engine serving it, then ``increment`` new articles built, published and
    served by the reader. Files: the reader shares the builder's data folder (the shared volume);
    PostgreSQL: it has its own and fetches the version."""
    backend = "postgres" if url else "files"
    shutil.rmtree(folder, ignore_errors=True)
    builder = bench_settings(settings, folder, base).with_(
        corpus_dir=folder / "corpus", data_dir=folder / "builder", database_url=url
    )
    reader = builder.with_(data_dir=folder / "reader") if url else builder
    write_articles(builder.corpus_dir, 0, base)
    age_corpus(builder.corpus_dir)
    log(f"store [{backend}]: base build of {base} articles")
    base_build = _timed_build(builder, None)
    engine = Engine(reader, embedder=SyntheticEncoder())  # its poll connection goes with the scratch database
    first = engine.snapshot()
    log(f"store [{backend}]: +{increment} articles")
    written = write_articles(builder.corpus_dir, base, increment)
    step = _timed_build(builder, written)
    before = _folder_bytes(reader.data_dir)
    t0 = time.perf_counter()
    home = open_home(reader)
    try:
        home.local(step["version"])  # fetched and verified (files: already in place)
    finally:
        home.close()
    t1 = time.perf_counter()
    snap = engine.snapshot()  # the reader's own path: the pointer polled, the version loaded
    t2 = time.perf_counter()
    check = _check_cost(engine, POLLS)
    return {
        "backend": backend,
        "base_build_s": base_build["seconds"],
        "increment_build_s": step["seconds"],
        "verify_publish_s": step["verify_publish_s"],
        "added": step["added"],
        "chunks_embedded": step["chunks_embedded"],
        "fetch_s": round(t1 - t0, 3),
        "load_s": round(t2 - t1, 3),
        "serve_new_s": round(t2 - t0, 3),
        "check_ms_p50": round(statistics.median(check) * 1000, 3),
        "check_ms_p95": round(check[int(0.95 * (len(check) - 1))] * 1000, 3),
        "fetched_mb": round((_folder_bytes(reader.data_dir) - before) / 2**20, 2),
        "reader_before": first.version,
        "reader_after": snap.version,
        "built": step["version"],
        "chunks_before": int(first.chunk_alive.sum()),
        "chunks_after": int(snap.chunk_alive.sum()),
    }


def _check_cost(engine: Engine, polls: int) -> list[float]:
    """What every question pays to learn that the live version is unchanged (``snapshot()``), sorted."""
    times = []
    for _ in range(polls):
        t0 = time.perf_counter()
        engine.snapshot()
        times.append(time.perf_counter() - t0)
    return sorted(times)


def _timed_build(settings: Settings, changed: list[Path] | None) -> dict[str, Any]:
    """One build through the real path; ``verify_publish_s`` runs from the verification stage on."""
    marks: dict[str, float] = {}

    def progress(p: Any) -> None:
        if p.stage == "verifying" and p.done == 0:
            marks.setdefault("verify", time.perf_counter())

    started = time.perf_counter()
    report = build_index(settings, embedder=SyntheticEncoder(), changed=changed, progress=progress)
    ended = time.perf_counter()
    return {
        "version": report.version,
        "seconds": round(ended - started, 3),
        "verify_publish_s": round(ended - marks.get("verify", ended), 3),
        "added": report.added,
        "chunks_embedded": report.chunks_embedded,
    }


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


# ---- the leader lock's fail-over ---------------------------------------------------------------
_HOLDER = """
import sys
from index.database import AdvisoryLock
lock = AdvisoryLock(sys.stdin.readline().strip(), sys.argv[1])
if not lock.try_acquire():
    raise SystemExit("the lock is already held")
print(lock.connection.info.backend_pid, flush=True)
sys.stdin.read()  # hold until the bench closes stdin (or kills this process)
"""


def failover_bench(
    url: str, *, trials: int = DEFAULT_TRIALS, retry: float = DEFAULT_RETRY, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Per way of killing the holder: how soon PostgreSQL frees the lock, and how soon a standby
    retrying every ``retry`` seconds holds it (the kill lands at a random point of its cycle)."""
    rng = random.Random(24)
    rows = []
    for kill in KILLS:
        freed, taken = [], []
        for _ in range(trials):
            f, t = _one_failover(url, kill, retry, rng.uniform(0.0, retry))
            freed.append(f)
            taken.append(t)
        rows.append(
            {
                "kill": kill,
                "retry_s": retry,
                "trials": trials,
                "freed_ms_p50": round(statistics.median(freed) * 1000, 1),
                "freed_ms_max": round(max(freed) * 1000, 1),
                "takeover_s_p50": round(statistics.median(taken), 3),
                "takeover_s_max": round(max(taken), 3),
            }
        )
        log(f"fail-over [{kill}]: {rows[-1]}")
    return rows


def _one_failover(url: str, kill: str, retry: float, phase: float) -> tuple[float, float]:
    """(seconds until the lock is free, seconds until the standby holds it), both from the kill."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, LEADER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    standby = AdvisoryLock(url, LEADER)
    stop, tried = threading.Event(), threading.Event()
    got: list[float] = []

    def retry_loop() -> None:
        while not standby.try_acquire():
            tried.set()
            if stop.wait(retry):
                return
        got.append(time.perf_counter())

    try:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.write(url + "\n")
        holder.stdin.flush()
        line = holder.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the lock holder did not start (exit {holder.wait()})")
        backend = int(line)
        loop = threading.Thread(target=retry_loop, daemon=True)
        loop.start()
        tried.wait()
        stop.wait(phase)  # the kill falls somewhere in the standby's retry cycle
        with connect(url) as admin:
            killed = time.perf_counter()
            if kill == "SIGKILL":
                holder.kill()
            else:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            freed = _wait_free(admin, backend) - killed
        loop.join(retry + 30.0)
        if not got:
            raise RuntimeError("the standby did not take the lock over")
        return freed, got[0] - killed
    finally:
        stop.set()
        standby.release()
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()


def _wait_free(admin: Any, backend: int) -> float:
    """When the server no longer lists the holder's session as holding an advisory lock (polled)."""
    deadline = time.perf_counter() + 30.0
    while time.perf_counter() < deadline:
        row = admin.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s", (backend,)
        ).fetchone()
        if row is not None and int(row[0]) == 0:
            return time.perf_counter()
        time.sleep(0.002)
    raise RuntimeError("the leader lock was not freed within 30 s")
