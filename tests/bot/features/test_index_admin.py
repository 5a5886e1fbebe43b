"""End to end: /index reindex|status|add|remove, moderator checks, audit log, background builds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from index.store import _versions as versions
from measure.fakediscord import EPHEMERAL, Attachment, FakeDiscord, Interaction
from tests.bot.conftest import GatedEngine, Workspace

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

NEW_ARTICLE = """---
title: Agency publishes software bill of materials rules
source: Supply Chain Daily
url: https://supplychain.example.com/sbom-rules
published: 2024-05-02
---
The Office of the National Cyber Director published rules requiring software vendors to deliver a software bill of materials.
Vendors must comply with the SBOM rules by January 15, 2025.
Critics said the SBOM rules leave open how often the lists must be updated.
"""

PAGE = """<html><head><title>Dutch regulator fines telecom | Lowlands Ledger</title>
<meta property="og:site_name" content="Lowlands Ledger"><meta name="date" content="2024-06-07"></head>
<body><nav>Home | News</nav><article><h1>Dutch regulator fines telecom over breach reporting</h1>
<p>The Dutch telecom regulator fined Polder Telecom 600,000 euros for reporting a data breach nine days late.</p>
<p>The regulator said operators must report breaches within seventy-two hours under national law.</p>
<p>Polder Telecom said it would appeal the fine in court.</p></article><footer>Contact</footer></body></html>"""


def done(inter: Interaction) -> bool:
    """The status message shows the end of the reindex."""
    return any(
        ("Reindex done" in (m.get("content") or "") or "Reindex failed" in (m.get("content") or ""))
        for m in inter.messages()
    )


def audit(bot: Any) -> list[tuple[str, Any]]:
    return [(e["action"], e.get("user_id")) for e in bot.audit.entries()]


@pytest.mark.parametrize("user", ["alice", "bob"])
async def test_non_moderators_are_refused_on_every_index_command(fake: FakeDiscord, bot: Any, user: str) -> None:
    who = getattr(fake, user)
    calls = [
        await fake.slash("index", {"full": True}, sub="reindex", user=who),
        await fake.slash("index", {}, sub="status", user=who),
        await fake.slash("index", {"url": "http://127.0.0.1:1/x"}, sub="add", user=who),
        await fake.slash("index", {"article": "ransomware-summit"}, sub="remove", user=who),
    ]
    await fake.wait_for(lambda: all(c.callbacks for c in calls))
    for c in calls:
        data = c.callbacks[0]["data"]
        assert c.callbacks[0]["type"] == 4 and data["flags"] & EPHEMERAL
        assert "Only moderators" in data["content"]
    refused = [e for e in bot.audit.entries() if e["action"] == "refused"]
    assert sorted(e["command"] for e in refused) == ["index add", "index reindex", "index remove", "index status"]
    assert {e["user_id"] for e in refused} == {int(who["id"])}
    assert (bot.settings.corpus_dir / "ransomware-summit.md").exists()
    assert bot.reindexer.last is None and not bot.reindexer.running


async def test_index_is_guild_only_and_hidden_from_members(fake: FakeDiscord, bot: Any) -> None:
    index, scope = fake.command("index")
    ask, _ = fake.command("ask")
    assert scope == "global" and str(index["default_member_permissions"]) == str(1 << 5)
    assert index["contexts"] == [0] and sorted(ask["contexts"]) == [0, 1, 2]
    assert {o["name"] for o in index["options"]} == {"reindex", "status", "add", "remove", "gaps"}


async def test_role_moderator_may_use_index_status(fake: FakeDiscord, bot: Any) -> None:
    inter = await fake.slash("index", sub="status", user=fake.rolemod)
    msg = (await fake.wait_for(inter.messages))[0]
    assert "5 articles" in msg["content"] and msg["flags"] & EPHEMERAL


async def test_reindex_runs_in_background_while_20_questions_are_answered(
    fake: FakeDiscord, bot: Any, engine: GatedEngine, workspace: Workspace
) -> None:
    live = versions.current_version(workspace.data)
    (workspace.corpus / "sbom-rules.md").write_text(NEW_ARTICLE)
    engine.gate_stage = "writing"  # hold the build after embedding, before the new version exists
    reindex = await fake.slash("index", {}, sub="reindex", user=fake.admin)
    assert await asyncio.to_thread(engine.reached.wait, 20)

    questions = [
        await fake.slash("ask", {"question": "When must vendors comply with the SBOM rules?"}) for _ in range(20)
    ]
    await fake.wait_for(lambda: all(q.messages() for q in questions), timeout=60)
    for q in questions:  # all answered, from the live (old) version: the new article is not there yet
        assert "supplychain.example.com" not in q.texts()
        assert "Something went wrong" not in q.texts()
    assert versions.current_version(workspace.data) == live

    engine.release.set()
    await fake.wait_for(lambda: done(reindex), timeout=30)
    edits = [p.get("content") or "" for p in fake.all_payloads()]
    assert any("Reindexing… step 3/4 writing: ▱▱▱" in e for e in edits)  # the progress bar, held at "writing"
    final = reindex.messages()[0]["content"]
    assert "Reindex done" in final and "added 1" in final
    assert versions.current_version(workspace.data) != live

    after = await fake.slash("ask", {"question": "When must vendors comply with the SBOM rules?"})
    await fake.wait_for(after.messages)
    assert "supplychain.example.com/sbom-rules" in after.texts()
    actions = [a for a, _ in audit(bot)]
    assert actions == ["reindex started", "reindex finished"]


async def test_second_reindex_is_told_about_the_running_one(
    fake: FakeDiscord, bot: Any, engine: GatedEngine, workspace: Workspace
) -> None:
    (workspace.corpus / "sbom-rules.md").write_text(NEW_ARTICLE)
    engine.gate_stage = "writing"
    first = await fake.slash("index", {}, sub="reindex", user=fake.admin)
    assert await asyncio.to_thread(engine.reached.wait, 20)
    second = await fake.slash("index", {"full": True}, sub="reindex", user=fake.rolemod)
    await fake.wait_for(lambda: second.callbacks)
    text = second.callbacks[0]["data"]["content"]
    assert "already running" in text and "writing" in text and "%" in text
    engine.release.set()
    await fake.wait_for(lambda: done(first), timeout=30)
    assert bot.reindexer.last.ok and not bot.reindexer.last.full


async def test_failed_reindex_reports_why_and_the_live_index_keeps_serving(
    fake: FakeDiscord, bot: Any, workspace: Workspace
) -> None:
    live = versions.current_version(workspace.data)
    workspace.corpus.rename(workspace.corpus.with_name("corpus-gone"))
    reindex = await fake.slash("index", {"full": True}, sub="reindex", user=fake.admin)
    await fake.wait_for(lambda: done(reindex), timeout=30)
    final = reindex.messages()[0]["content"]
    assert "Reindex failed" in final and "does not exist" in final
    assert versions.current_version(workspace.data) == live
    ask = await fake.slash("ask", {"question": "When must agencies disconnect Ivanti VPN appliances?"})
    await fake.wait_for(ask.messages)
    assert "February 2, 2024" in ask.texts()
    assert [a for a, _ in audit(bot)] == ["reindex started", "reindex failed"]


@pytest.fixture
async def article_site() -> AsyncIterator[str]:
    """A web server on 127.0.0.1 serving one article page and one binary file."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/news/dutch-fine")

    async def binary(request: web.Request) -> web.Response:
        return web.Response(body=b"PK\x03\x04", content_type="application/zip")

    async def huge(request: web.Request) -> web.Response:
        return web.Response(text="x" * 300_000, content_type="text/html")

    app = web.Application()
    for path, handler in [("/news/dutch-fine", page), ("/moved", moved), ("/file.zip", binary), ("/huge", huge)]:
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


async def test_add_by_url_fetches_extracts_and_reindexes(
    fake: FakeDiscord, bot: Any, article_site: str, workspace: Workspace
) -> None:
    add = await fake.slash("index", {"url": f"{article_site}/moved"}, sub="add", user=fake.admin)
    await fake.wait_for(lambda: done(add), timeout=30)
    final = add.messages()[0]["content"]
    assert "Added `dutch-regulator-fines-telecom-over-breach-reporting`" in final and "added 1" in final
    text = (workspace.corpus / "added" / "dutch-regulator-fines-telecom-over-breach-reporting.md").read_text()
    assert "source: Lowlands Ledger" in text and "Contact" not in text
    # the build looked only at what the edit owes (the added file), not at the whole corpus
    assert bot.engine.changed[-1] == [] and versions.owed(workspace.data).records == ()
    ask = await fake.slash("ask", {"question": "How much was Polder Telecom fined?"})
    await fake.wait_for(ask.messages)
    assert "600,000" in ask.texts() and "/news/dutch-fine) — Lowlands Ledger, 2024-06-07" in ask.texts()
    entries = bot.audit.entries()
    assert entries[0]["action"] == "article added" and entries[0]["origin"].endswith("/moved")
    assert entries[0]["user_id"] == int(fake.admin["id"])


@pytest.mark.parametrize(
    ("path", "message"),
    [("file:///etc/passwd", "only http and https"), ("/file.zip", "unexpected content type"), ("/huge", "larger than")],
)
async def test_add_by_url_refuses_bad_pages(
    fake: FakeDiscord, start_bot: Any, article_site: str, workspace: Workspace, path: str, message: str
) -> None:
    await start_bot(fetch_max_bytes=100_000)
    url = path if "://" in path else article_site + path
    add = await fake.slash("index", {"url": url}, sub="add", user=fake.admin)
    msg = (await fake.wait_for(add.messages))[0]
    assert message in msg["content"]
    assert sorted(p.name for p in workspace.corpus.iterdir()) == sorted(
        p.name for p in (workspace.corpus.parent.parent / workspace.corpus.parent.name / "corpus").iterdir()
    )
    assert len(list(workspace.corpus.iterdir())) == 5


async def test_add_by_attachment_validates_then_reindexes(fake: FakeDiscord, bot: Any, workspace: Workspace) -> None:
    bad = await fake.slash(
        "index",
        {"file": Attachment("broken.md", b"---\ntitle: [unclosed\n---\nSome text that is here.")},
        sub="add",
        user=fake.admin,
    )
    msg = (await fake.wait_for(bad.messages))[0]
    assert "front matter is not valid YAML" in msg["content"]
    assert not (workspace.corpus / "broken.md").exists()

    good = await fake.slash(
        "index", {"file": Attachment("SBOM Rules.md", NEW_ARTICLE.encode())}, sub="add", user=fake.rolemod
    )
    await fake.wait_for(lambda: done(good), timeout=30)
    assert "Added `sbom-rules`" in good.messages()[0]["content"]
    assert (workspace.corpus / "sbom-rules.md").read_text() == NEW_ARTICLE
    ask = await fake.slash("ask", {"question": "When must vendors comply with the SBOM rules?"})
    await fake.wait_for(ask.messages)
    assert "supplychain.example.com/sbom-rules" in ask.texts()


async def test_remove_with_autocomplete_moves_to_trash(fake: FakeDiscord, bot: Any, workspace: Workspace) -> None:
    ac = await fake.autocomplete("index", "remove", "article", "ransom")
    choices = await fake.wait_for(ac.choices)
    assert choices[0]["value"] == "ransomware-summit" and "2023-11-01" in choices[0]["name"]
    denied = await fake.autocomplete("index", "remove", "article", "ransom", user=fake.alice)
    assert await fake.wait_for(lambda: denied.choices() is not None) is True or denied.choices() == []
    assert denied.choices() == []

    remove = await fake.slash("index", {"article": "ransomware-summit"}, sub="remove", user=fake.admin)
    await fake.wait_for(lambda: done(remove), timeout=30)
    assert "removed 1" in remove.messages()[0]["content"]
    assert not (workspace.corpus / "ransomware-summit.md").exists()
    trashed = list((workspace.data / "trash").iterdir())
    assert len(trashed) == 1 and trashed[0].name.endswith("-ransomware-summit.md")
    ask = await fake.slash("ask", {"question": "How many countries pledged not to pay ransoms?"})
    await fake.wait_for(ask.messages)
    assert "capitalcyber" not in ask.texts()
    assert [a for a, _ in audit(bot)] == ["article removed", "reindex started", "reindex finished"]

    missing = await fake.slash("index", {"article": "no-such-article"}, sub="remove", user=fake.admin)
    msg = (await fake.wait_for(missing.messages))[0]
    assert "no article 'no-such-article'" in msg["content"]


async def test_a_removal_refused_by_another_build_is_indexed_by_the_next_increment(
    fake: FakeDiscord, bot: Any, workspace: Workspace
) -> None:
    from tests.support.builds import LockHolder

    # the shared index was built where the fixture's corpus was first written; rebuild it here, so
    # that its rows name these files (an increment retires an article by the file that held it)
    await asyncio.to_thread(bot.engine.build, full=True)
    with LockHolder(workspace.data):  # a CLI build or the builder process holds the lock
        remove = await fake.slash("index", {"article": "ransomware-summit"}, sub="remove", user=fake.admin)
        await fake.wait_for(lambda: done(remove), timeout=30)
        final = remove.messages()[0]["content"]
        assert "Reindex failed" in final and "another build is already running" in final and "change is saved" in final
    add = await fake.slash("index", {"file": Attachment("SBOM Rules.md", NEW_ARTICLE.encode())}, sub="add", user=fake.admin)
    await fake.wait_for(lambda: done(add), timeout=30)
    assert "added 1" in add.messages()[0]["content"] and "removed 1" in add.messages()[0]["content"]
    assert bot.engine.changed[-1] == []  # an increment of what the edits owe, not a walk
    ask = await fake.slash("ask", {"question": "How many countries pledged not to pay ransoms?"})
    await fake.wait_for(ask.messages)
    assert "capitalcyber" not in ask.texts()
    assert versions.owed(workspace.data).records == ()
