"""The bot by feature: features stand on the core alone, and the hooks keep one feature's failure
from stopping another's work."""

from __future__ import annotations

import ast
import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot import app
from bot.core.hooks import Hooks
from bot.features import answers
from bot.features.answers.feedback import FEEDBACK, FeedbackStore
from index import FreshArticle
from measure.fakediscord import FakeDiscord
from tests.bot.conftest import StartBot

BOT = Path(__file__).resolve().parents[2] / "bot"


def bot_imports(path: Path) -> set[str]:
    """Modules of ``bot`` that ``path`` imports (typing-only imports included: they are arrows too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if node.module in ("bot", "bot.features"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "bot" or m.startswith("bot.")}


def test_a_feature_imports_the_core_never_the_app_nor_another_feature() -> None:
    offenders = {}
    for path in (BOT / "features").rglob("*.py"):
        parts = path.relative_to(BOT / "features").parts
        if len(parts) < 2:
            continue  # bot/features/__init__.py
        own = f"bot.features.{parts[0]}"
        allowed = ("bot.core", "bot.config", own)
        outside = sorted(m for m in bot_imports(path) if not any(m == a or m.startswith(a + ".") for a in allowed))
        if outside:
            offenders[str(path.relative_to(BOT))] = outside
    assert offenders == {}


def test_the_core_knows_no_feature_and_no_app() -> None:
    offenders = {}
    for path in (BOT / "core").rglob("*.py"):
        outside = sorted(m for m in bot_imports(path) if not (m.startswith("bot.core") or m == "bot.config"))
        if outside:
            offenders[path.name] = outside
    assert offenders == {}


def fresh(article_id: str) -> FreshArticle:
    return FreshArticle(article_id, "Title", "Outlet", f"https://e.org/{article_id}", date(2024, 2, 1), "Lead.", False)


async def test_new_articles_reach_every_handler_in_order_even_after_one_fails(caplog: pytest.LogCaptureFixture) -> None:
    hooks, seen = Hooks(), []

    async def announce(articles: Sequence[FreshArticle]) -> None:
        seen.append(("announce", [a.article_id for a in articles]))
        raise RuntimeError("guild settings unavailable")

    async def watch_dms(articles: Sequence[FreshArticle]) -> None:
        seen.append(("watch", [a.article_id for a in articles]))

    hooks.on_new_articles(announce)
    hooks.on_new_articles(watch_dms)
    with caplog.at_level(logging.ERROR, logger="bot.core.hooks"):
        await hooks.new_articles([fresh("a1"), fresh("a2")])
    assert seen == [("announce", ["a1", "a2"]), ("watch", ["a1", "a2"])]
    assert "guild settings unavailable" in caplog.text


async def test_leader_tasks_start_when_leading_and_stop_at_close_and_every_store_closes() -> None:
    hooks, calls = Hooks(), []

    class Task:
        def __init__(self, name: str) -> None:
            self.name = name

        def start(self) -> None:
            calls.append(f"start {self.name}")

        async def stop(self) -> None:
            calls.append(f"stop {self.name}")
            if self.name == "poll":
                raise RuntimeError("stuck")

    def broken_close() -> None:
        calls.append("close feedback")
        raise OSError("disk gone")

    hooks.while_leading(Task("poll"))
    hooks.while_leading(Task("other"))
    hooks.at_exit(broken_close)
    hooks.at_exit(lambda: calls.append("close watches"))
    assert calls == []  # registering starts nothing: only the leader runs the tasks
    hooks.start_leading()
    await hooks.stop_leading()
    hooks.exit()
    assert calls == ["start poll", "start other", "stop poll", "stop other", "close feedback", "close watches"]


def test_a_feature_object_is_found_on_the_bot_only_once_set_up(tmp_path: Path) -> None:
    class Client:
        pass

    client = Client()
    with pytest.raises(LookupError, match="no feedback"):
        FEEDBACK.of(client)
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    try:
        FEEDBACK.put(client, store)  # type: ignore[arg-type]
        assert FEEDBACK.of(client) is store and client.feedback is store  # type: ignore[attr-defined]
    finally:
        store.close()


@pytest.mark.slow
async def test_the_bot_runs_with_only_the_features_listed(
    fake: FakeDiscord, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "FEATURES", (answers,))
    bot: Any = await start_bot()
    assert {c.name for c in bot.tree.get_commands()} == {"ask", "search", "about", "Ask policybot about this"}
    assert not hasattr(bot, "poller") and not hasattr(bot, "watches")
    inter = await fake.slash("ask", {"question": "When must agencies disconnect Ivanti VPN appliances?"})
    await fake.wait_for(inter.messages)
    assert "February 2, 2024" in inter.texts()
