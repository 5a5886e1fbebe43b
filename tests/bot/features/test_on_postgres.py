"""The main bot flows (ask, /index reindex|add|remove, /feeds add and a poll) on both backends: the
data folder alone, and PostgreSQL (``POLICYBOT_DATABASE_URL``), where the results must land in the
``pb_`` tables (the live pointer, the audit, the feed state, the shared corpus) and not in files."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from bot.features.feeds.poller import POLLER
from index.engine import Engine
from index.settings import Settings
from index.store import _versions as versions
from measure.fakediscord import Attachment, FakeDiscord, Interaction
from tests.bot.conftest import GatedEngine, StartBot, Workspace
from tests.bot.features.test_index_admin import NEW_ARTICLE, done

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

SBOM_QUESTION = "When must vendors comply with the SBOM rules?"


@pytest.fixture(params=["files", "postgres"])
def backend(request: pytest.FixtureRequest, workspace: Workspace) -> str | None:
    """None (files) or the database URL, where the workspace's corpus was built and published first."""
    if request.param == "files":
        return None
    url = str(request.getfixturevalue("postgres_url"))
    settings = Settings(_env_file=None, data_dir=workspace.data, corpus_dir=workspace.corpus, database_url=url)
    Engine(settings, embedder=workspace.embedder).build()
    return url


@pytest.fixture
async def bot(fake: FakeDiscord, start_bot: StartBot, backend: str | None) -> Any:
    """Ready once the leader's first feed poll is over: a build that poll starts for an edit would
    otherwise refuse the edit's own reindex (the edit is still indexed, by the poll's build)."""
    started = await start_bot(database_url=backend)
    await fake.wait_for(lambda: POLLER.of(started).last is not None, timeout=60)
    return started


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())


def live(workspace: Workspace, backend: str | None) -> str | None:
    """The live version as the backend records it: ``CURRENT`` or ``pb_live``."""
    if backend is None:
        return versions.current_version(workspace.data)
    rows = query(backend, "SELECT version FROM pb_live")
    return str(rows[0][0]) if rows else None


def audit_actions(backend: str | None, bot: Any) -> list[str]:
    """The audit's actions in order, read where the backend keeps them."""
    if backend is None:
        return [str(e["action"]) for e in bot.audit.entries()]
    return [str(r[0]) for r in query(backend, "SELECT entry::jsonb ->> 'action' FROM pb_audit ORDER BY id")]


def corpus_row(backend: str, path: str) -> tuple[Any, ...] | None:
    rows = query(backend, "SELECT sha256, removed FROM pb_corpus_file WHERE path = %s", path)
    return rows[0] if rows else None


async def ask(fake: FakeDiscord, question: str) -> Interaction:
    inter = await fake.slash("ask", {"question": question})
    await fake.wait_for(inter.messages, timeout=60)
    return inter


async def test_ask_answers_from_the_live_version(
    fake: FakeDiscord, bot: Any, backend: str | None, workspace: Workspace
) -> None:
    inter = await ask(fake, "When must agencies disconnect Ivanti VPN appliances?")
    assert "February 2, 2024" in inter.texts() and "news.example.org/2024/02/cisa-ivanti" in inter.texts()
    assert bot.engine.stats().version == live(workspace, backend)
    if backend is not None:
        assert query(backend, "SELECT count(*) FROM pb_answers")[0][0] == 1  # stored for the buttons
        assert not (workspace.data / "feedback.sqlite").exists()


async def test_reindex_publishes_a_new_version(
    fake: FakeDiscord, bot: Any, backend: str | None, workspace: Workspace, engine: GatedEngine
) -> None:
    before, local_pointer = live(workspace, backend), versions.current_version(workspace.data)
    (workspace.corpus / "sbom-rules.md").write_text(NEW_ARTICLE)
    reindex = await fake.slash("index", {}, sub="reindex", user=fake.admin)
    await fake.wait_for(lambda: done(reindex), timeout=60)
    assert "Reindex done" in reindex.messages()[0]["content"] and "added 1" in reindex.messages()[0]["content"]
    assert live(workspace, backend) not in (None, before)
    assert "supplychain.example.com/sbom-rules" in (await ask(fake, SBOM_QUESTION)).texts()
    assert audit_actions(backend, bot) == ["reindex started", "reindex finished"]
    if backend is not None:  # the article is shared for a builder on another machine
        assert corpus_row(backend, "sbom-rules.md") is not None
        assert not (workspace.data / "audit.jsonl").exists()
        assert versions.current_version(workspace.data) == local_pointer  # the folder's CURRENT is not the pointer


async def test_add_by_attachment_publishes_and_shares_the_article(
    fake: FakeDiscord, bot: Any, backend: str | None, workspace: Workspace
) -> None:
    before = live(workspace, backend)
    add = await fake.slash("index", {"file": Attachment("SBOM Rules.md", NEW_ARTICLE.encode())}, sub="add", user=fake.admin)
    await fake.wait_for(lambda: done(add), timeout=60)
    assert "Added `sbom-rules`" in add.messages()[0]["content"]
    assert live(workspace, backend) not in (None, before)
    assert "supplychain.example.com/sbom-rules" in (await ask(fake, SBOM_QUESTION)).texts()
    assert audit_actions(backend, bot)[0] == "article added"
    if backend is not None:
        row = corpus_row(backend, "sbom-rules.md")
        assert row is not None and row[1] is False


async def test_remove_publishes_and_marks_the_article_removed(
    fake: FakeDiscord, bot: Any, backend: str | None, workspace: Workspace
) -> None:
    before = live(workspace, backend)
    if backend is not None:
        shared = corpus_row(backend, "ransomware-summit.md")  # the first build shared the corpus
        assert shared is not None and shared[1] is False
    remove = await fake.slash("index", {"article": "ransomware-summit"}, sub="remove", user=fake.admin)
    await fake.wait_for(lambda: done(remove), timeout=60)
    assert "removed 1" in remove.messages()[0]["content"]
    assert live(workspace, backend) not in (None, before)
    assert "capitalcyber" not in (await ask(fake, "How many countries pledged not to pay ransoms?")).texts()
    assert audit_actions(backend, bot) == ["article removed", "reindex started", "reindex finished"]
    if backend is not None:  # other machines drop their copy at their next sync
        row = corpus_row(backend, "ransomware-summit.md")
        assert row is not None and row[1] is True


async def test_feeds_add_then_a_poll_makes_the_article_answerable(
    fake: FakeDiscord, start_bot: StartBot, backend: str | None, workspace: Workspace, news_site: str
) -> None:
    bot = await start_bot(database_url=backend, feeds_poll_seconds=3600)  # polls at start and when woken
    before = live(workspace, backend)
    add = await fake.slash("feeds", {"url": f"{news_site}/feed.xml", "name": "Ruritania Wire"}, sub="add", user=fake.admin)
    assert "Following **Ruritania Wire**" in (await fake.wait_for(add.messages))[0]["content"]
    await fake.wait_for(lambda: live(workspace, backend) != before, timeout=120)
    text = (await ask(fake, "How much was Zenda Telecom fined?")).texts()
    assert "2.4 million" in text and f"]({news_site}/news/zenda-fine)" in text
    assert "feed added" in audit_actions(backend, bot)
    if backend is not None:
        assert query(backend, "SELECT name, url FROM pb_feeds") == [("Ruritania Wire", f"{news_site}/feed.xml")]
        known = {r[0] for r in query(backend, "SELECT canonical_url FROM pb_feed_articles")}  # for de-duplication
        assert f"{news_site}/news/zenda-fine" in known
        assert not (workspace.data / "feeds.sqlite").exists()
