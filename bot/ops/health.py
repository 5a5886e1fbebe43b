"""``policybot health``: exit 0 when the index verifies and this instance's process is alive, fresh and
connected, else 1 with a one-line reason. It is a container ``HEALTHCHECK``, so it never loads the
model: the index is checked by ``Engine.stats()`` and the process by its status (file or database row).
"""

from __future__ import annotations

import argparse
import time

from bot.config import BotSettings
from bot.ops.status import Status, problem, status_board
from index import Engine, IndexStats, PolicybotError


def index_problem(engine: Engine) -> tuple[IndexStats | None, str | None]:
    try:
        return engine.stats(), None
    except (PolicybotError, OSError) as exc:
        return None, f"index: {exc}"


def check(engine: Engine, status: Status | None, max_age: float) -> str | None:
    """The one health rule, shared by the command and ``/healthz``: None when healthy."""
    _, reason = index_problem(engine)
    if reason:
        return reason
    return problem(status, max_age) if status is not None else None


def describe(status: Status) -> str:
    parts = [f"{status.instance} ({status.role}, pid {status.pid} on {status.host})"]
    if status.connected is not None:
        parts.append("connected" if status.connected else "not connected")
    if status.shard_ids is not None or status.shard_count is not None:
        parts.append(f"shards {status.shard_ids if status.shard_ids is not None else 'all'} of {status.shard_count or '?'}")
    parts.append("leader" if status.leader else "serving only")
    if status.index_version:  # with separate data folders: which version each process serves
        parts.append(f"index {status.index_version}")
    parts.append(f"heartbeat {time.time() - status.heartbeat_at:.0f} s ago")
    return ", ".join(parts)


def cmd_health(args: argparse.Namespace, settings: BotSettings) -> int:
    engine = Engine(settings)
    stats, reason = index_problem(engine)
    if reason:
        print(f"unhealthy: {reason}")
        return 1
    assert stats is not None
    summary = f"index {stats.version} ({stats.articles} articles, {stats.chunks} chunks)"
    board = status_board(settings)
    if args.all:
        bad = 0
        print(f"ok: {summary}")
        for each in board.all():
            why = problem(each, settings.health_max_age)
            bad += why is not None
            print(f"{'UNHEALTHY' if why else 'ok'}: {describe(each)}{f' — {why}' if why else ''}")
        return 1 if bad else 0
    instance = args.instance or settings.instance
    status = board.read(instance)
    if status is not None and (why := problem(status, settings.health_max_age)):
        print(f"unhealthy: {why}")
        return 1
    print(f"ok: {summary}" + (f"; {describe(status)}" if status else ""))
    return 0
