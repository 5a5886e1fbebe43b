"""Crash scenario 3: the bot's SQLite stores (feedback, watches, guild settings) SIGKILLed mid-stream
after a seeded number of acknowledged commits; no acknowledged record is lost, every file stays sound."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any


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
