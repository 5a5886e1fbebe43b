"""Fixtures for the bot: a network guard, the fake Discord, the real engine over a small index, the
environment of a bot process started by a test, and a news site on 127.0.0.1.

The model is loaded once per session and the base index is built once; each test gets its own
copy of the corpus and data folder, so tests that add, remove or reindex never see each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import discord.http
import pytest
import yarl
from aiohttp import web

from bot.app import PolicyBotMixin, create_bot
from bot.config import BotSettings
from index.engine import Engine
from index.settings import Settings
from index.types import BuildProgress, BuildReport
from measure.fakediscord import FakeDiscord
from tests.support import REPO
from tests.support.network import network_guard

__all__ = ["network_guard"]  # autouse: no traffic leaves the machine

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
SHIM = HERE / "shim"


# ---- the real engine ----------------------------------------------------------------------------
@dataclass
class Base:
    embedder: Any
    root: Path


@pytest.fixture(scope="session")
def base_index(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """Load MiniLM once (one torch thread: faster under load, no oversubscription) and build once."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index.models._embedder import Embedder

    embedder = Embedder(threads=1)
    root = tmp_path_factory.mktemp("base")
    shutil.copytree(CORPUS, root / "corpus")
    Engine(Settings(_env_file=None, data_dir=root / "data", corpus_dir=root / "corpus"), embedder=embedder).build()
    return Base(embedder, root)


@dataclass
class Workspace:
    corpus: Path
    data: Path
    embedder: Any

    def settings(self) -> Settings:
        return Settings(_env_file=None, data_dir=self.data, corpus_dir=self.corpus)


@pytest.fixture
def workspace(base_index: Base, tmp_path: Path) -> Workspace:
    import torch

    torch.set_num_threads(1)
    shutil.copytree(base_index.root / "corpus", tmp_path / "corpus")
    shutil.copytree(base_index.root / "data", tmp_path / "data")
    return Workspace(tmp_path / "corpus", tmp_path / "data", base_index.embedder)


class GatedEngine(Engine):
    """The real Engine; a build can be held at one stage until the test releases it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate_stage: str | None = None
        self.reached = threading.Event()
        self.release = threading.Event()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.changed: list[Sequence[Path] | None] = []  # what each build was told had changed

    def ask(self, question: str, **kwargs: Any) -> Any:
        self.calls.append((question, kwargs))
        return super().ask(question, **kwargs)

    def build(
        self,
        *,
        full: bool = False,
        progress: Callable[[BuildProgress], None] | None = None,
        changed: Sequence[Path] | None = None,
    ) -> BuildReport:
        self.changed.append(changed)

        def gated(p: BuildProgress) -> None:
            if progress:
                progress(p)
            if self.gate_stage == p.stage and not self.reached.is_set():
                self.reached.set()
                if not self.release.wait(30):
                    raise RuntimeError("test never released the build gate")

        return super().build(full=full, progress=gated, changed=changed)


@pytest.fixture
def engine(workspace: Workspace) -> GatedEngine:
    return GatedEngine(workspace.settings(), embedder=workspace.embedder)


# ---- the fake Discord and the bot ---------------------------------------------------------------
@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.api)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))
    yield server
    await server.stop()


StartBot = Callable[..., Awaitable[PolicyBotMixin]]


def bot_settings(workspace: Workspace, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {
        "data_dir": workspace.data,
        "corpus_dir": workspace.corpus,
        "cooldown_seconds": 0,
        "progress_interval": 0,
        "fetch_allow_private": True,
        "moderator_role": "Policy Moderators",
        "dm_memory_seconds": 600,
    }
    values.update(overrides)
    return BotSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def start_bot(fake: FakeDiscord, workspace: Workspace, engine: GatedEngine) -> AsyncIterator[StartBot]:
    """Start the real bot against the fake (as a test would restart it, it can be called twice)."""
    running: list[tuple[PolicyBotMixin, asyncio.Task[None]]] = []

    async def start(*, engine_: Any = None, **overrides: Any) -> PolicyBotMixin:
        settings = bot_settings(workspace, **overrides)
        if engine_ is None:
            engine.settings = settings  # one settings object for the bot and its engine, as in `policybot run`
        bot = create_bot(engine_ or engine, settings, guild_ready_timeout=0.05, identify_delay=0)
        await bot.login(fake.token)
        task = asyncio.create_task(bot.connect(reconnect=False))
        running.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task.done():
                task.result()
            raise AssertionError("bot did not become ready")
        return bot

    yield start
    engine.release.set()
    for bot, task in running:
        await bot.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        await bot.reindexer.wait()


@pytest.fixture
async def bot(start_bot: StartBot) -> PolicyBotMixin:
    return await start_bot()


@pytest.fixture
def no_pings_everywhere(fake: FakeDiscord) -> Iterator[None]:
    """After the test: every message body the bot sent pings nobody and says so explicitly."""
    yield
    for payload in fake.all_payloads():
        if payload.get("content") or payload.get("embeds"):
            assert payload.get("allowed_mentions", {}).get("parse") == [], payload
            assert not payload["allowed_mentions"].get("replied_user"), payload


# ---- a bot process, and a news site on 127.0.0.1 ------------------------------------------------
def child_env(fake: FakeDiscord, **extra: str) -> dict[str, str]:
    """The environment of a `policybot run` child: the shim points discord.py at the fake."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POLICYBOT_", "DISCORD_"))},
        "PYTHONPATH": os.pathsep.join([str(SHIM), str(REPO)]),
        "FAKE_DISCORD_API": fake.api,
        "FAKE_DISCORD_GATEWAY": fake.gateway_url,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


ARTICLE = """<html><head><title>Ruritania fines Zenda Telecom | Ruritania Wire</title>
<meta property="og:site_name" content="Ruritania Wire"><meta name="date" content="2024-06-12"></head>
<body><nav>Home | News</nav><article><h1>Ruritania fines Zenda Telecom over late breach report</h1>
<p>The Ruritanian data protection authority fined Zenda Telecom 2.4 million euros @everyone for reporting a data breach three weeks late.</p>
<p>The authority said the breach exposed the call records of 800,000 customers and had to be reported within 72 hours.</p>
<p>Zenda Telecom said it would not appeal and had hired an outside firm to review its incident response.</p>
</article><footer>Contact us</footer></body></html>"""


def feed(base: str) -> str:
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Ruritania Wire</title><link>http://x/</link>"
        f"<item><guid>zenda-1</guid><link>{base}/news/zenda-fine</link>"
        "<title>Ruritania fines Zenda Telecom over late breach report</title>"
        "<pubDate>Wed, 12 Jun 2024 08:00:00 GMT</pubDate>"
        "<description>Zenda Telecom was fined for a late breach report.</description></item></channel></rss>"
    )


@pytest.fixture
async def news_site() -> AsyncIterator[str]:
    """A feed and its article page on 127.0.0.1 (served by the test's own loop)."""
    base: list[str] = []

    async def rss(request: web.Request) -> web.Response:
        return web.Response(text=feed(base[0]), content_type="application/rss+xml")

    async def article(request: web.Request) -> web.Response:
        return web.Response(text=ARTICLE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/feed.xml", rss)
    app.router.add_get("/news/zenda-fine", article)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}")  # type: ignore[union-attr]
    yield base[0]
    await runner.cleanup()
