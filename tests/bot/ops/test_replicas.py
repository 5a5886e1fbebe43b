"""Several processes, one data folder: a builder and two sharded bot replicas against the fake
Discord. Both replicas answer; a build published by the builder reaches both without a restart;
after the builder is killed (SIGKILL), a replica takes the leader lock and ingests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.ops.leader import DatabaseLeaderLock
from bot.ops.status import DatabaseBoard
from index.engine import Engine
from index.settings import Settings
from measure.fakediscord import Attachment, FakeDiscord
from tests.bot.conftest import CORPUS, Workspace, child_env
from tests.bot.features.test_index_admin import NEW_ARTICLE, done

pytestmark = pytest.mark.slow  # three processes, each with the real model

SBOM_QUESTION = "When must vendors comply with the SBOM rules?"

FAST = {  # fake-friendly timings: fail-over and heartbeats in about a second
    "POLICYBOT_LEADER_RETRY_SECONDS": "0.5",
    "POLICYBOT_HEARTBEAT_SECONDS": "0.5",
    "POLICYBOT_FEEDS_POLL_SECONDS": "1",
    "POLICYBOT_FETCH_ALLOW_PRIVATE": "1",
    "POLICYBOT_COOLDOWN_SECONDS": "0",
    "POLICYBOT_THREADS": "1",
    "POLICYBOT_LOG_LEVEL": "INFO",
}


def command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("policybot")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "bot", *args]


@dataclass(frozen=True)
class Folders:
    """One process's data and corpus folders (the same for all on one shared volume)."""

    data: Path
    corpus: Path


class Cluster:
    """Processes started by a test; ``folders`` gives each instance its folders, and with
    ``database_url`` they share PostgreSQL and read each other's heartbeats from ``pb_heartbeat``."""

    def __init__(
        self, fake: FakeDiscord, logs: Path, folders: Callable[[str], Folders], database_url: str | None = None
    ) -> None:
        self.fake = fake
        self.logs = logs
        self.folders = folders
        self.database_url = database_url
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self._board: DatabaseBoard | None = None

    def env(self, instance: str, **extra: str) -> dict[str, str]:
        where = self.folders(instance)
        database = {"POLICYBOT_DATABASE_URL": self.database_url} if self.database_url else {}
        return child_env(
            self.fake,
            POLICYBOT_DATA=str(where.data),
            POLICYBOT_CORPUS=str(where.corpus),
            POLICYBOT_INSTANCE=instance,
            **database,
            **FAST,
            **extra,
        )

    async def start(self, instance: str, args: list[str], **extra: str) -> None:
        with open(self.logs / f"{instance}.log", "wb") as log:
            self.procs[instance] = await asyncio.create_subprocess_exec(
                *command(*args), cwd=self.logs, env=self.env(instance, **extra), stdout=log, stderr=log
            )

    def status(self, instance: str) -> dict[str, Any]:
        if self.database_url:
            self._board = self._board or DatabaseBoard(self.database_url)
            found = self._board.read(instance)
            return asdict(found) if found else {}
        try:
            path = self.folders(instance).data / "status" / f"{instance}.json"
            return dict(json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    async def until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            for name, proc in self.procs.items():
                if proc.returncode is not None and name != "builder":
                    raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(self.log(n)[-3000:] for n in self.procs))
            await asyncio.sleep(0.1)

    def log(self, instance: str) -> str:
        return (self.logs / f"{instance}.log").read_text(errors="replace")

    async def health(self, *args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            *command("health", *args), cwd=self.logs, env=self.env("probe"), stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        return int(proc.returncode or 0), out.decode()

    async def stop(self) -> None:
        if self._board is not None:
            self._board.close()
            self._board = None
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.fixture
async def cluster(fake: FakeDiscord, workspace: Workspace, tmp_path: Path) -> AsyncIterator[Cluster]:
    shared = Folders(workspace.data, workspace.corpus)
    c = Cluster(fake, tmp_path, lambda instance: shared)
    yield c
    with contextlib.suppress(Exception):
        await c.stop()


async def ask(fake: FakeDiscord, guild: dict[str, Any], question: str) -> str:
    inter = await fake.slash("ask", {"question": question}, guild=guild)
    await fake.wait_for(inter.messages, timeout=60)
    return str(inter.texts())


async def both_shards_answer_from_the_feed(
    fake: FakeDiscord, cluster: Cluster, guilds: dict[int, dict[str, Any]], replicas: tuple[str, ...]
) -> None:
    """Each shard answers from the article the builder ingested, and only the builder polled."""
    for shard, guild in guilds.items():
        text = await ask(fake, guild, "How much was Zenda Telecom fined for the late breach report?")
        assert "2.4 million" in text and "zenda-fine" in text, (shard, text)
    assert "feeds: 1 new article" in cluster.log("builder")
    assert not any("feed poll" in cluster.log(n) for n in replicas)


async def test_two_replicas_and_a_builder_share_one_data_folder(
    fake: FakeDiscord, workspace: Workspace, cluster: Cluster, news_site: str
) -> None:
    fake.shard_count = 2
    other = fake.add_guild("Second Guild", shard=1 - fake.shard_of(fake.guild["id"]))
    guilds = {fake.shard_of(g["id"]): g for g in (fake.guild, other)}

    # The builder starts first and takes the leader lock; the bots then only serve.
    await cluster.start("builder", ["builder"])
    await cluster.until(lambda: cluster.status("builder").get("leader"), 120, "the builder to lead")
    for shard in (0, 1):
        await cluster.start(
            f"replica-{shard}", ["run"], DISCORD_TOKEN=fake.token, POLICYBOT_SHARD_COUNT="2", POLICYBOT_SHARD_IDS=str(shard)
        )
    identified = lambda: {g.shard for g in fake.gateways if g.identified} >= {(0, 2), (1, 2)}  # noqa: E731
    await cluster.until(identified, 120, "both shards to identify")
    await cluster.until(
        lambda: all(cluster.status(f"replica-{s}").get("connected") for s in (0, 1)), 60, "both replicas' status"
    )
    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]  # one shard per process

    for shard, guild in guilds.items():  # each replica answers its own shard's guild
        assert "policywire.example.com" in await ask(fake, guild, "When was the Cyber Resilience Act adopted?"), shard
    assert not any(cluster.status(f"replica-{s}").get("leader") for s in (0, 1))
    code, out = await cluster.health("--all")
    assert code == 0, out
    assert "builder (builder" in out and "replica-0 (bot" in out and "replica-1 (bot" in out
    code, out = await cluster.health("--instance", "replica-1")
    assert code == 0 and "connected, shards [1] of 2, serving only" in out, out

    # A feed appears; the builder ingests it and publishes a version; both replicas switch to it.
    before = cluster.status("replica-0").get("index_version")
    Engine(workspace.settings()).feeds.add(f"{news_site}/feed.xml", name="ruritania")
    await cluster.until(
        lambda: all(cluster.status(n).get("index_version") not in (None, before) for n in ("replica-0", "replica-1")),
        180,
        "both replicas to switch to the builder's new version",
    )
    await both_shards_answer_from_the_feed(fake, cluster, guilds, ("replica-0", "replica-1"))

    # The leader dies without any clean-up; one replica takes over within the retry interval.
    cluster.procs["builder"].send_signal(signal.SIGKILL)
    await cluster.procs["builder"].wait()
    leaders = lambda: [s for s in (0, 1) if cluster.status(f"replica-{s}").get("leader")]  # noqa: E731
    await cluster.until(leaders, 30, "a replica to take the leader lock")
    await asyncio.sleep(1.5)  # several retry intervals: still exactly one leader
    assert len(leaders()) == 1
    new_leader = f"replica-{leaders()[0]}"
    assert "now ingests and builds" in cluster.log(new_leader)
    code, out = await cluster.health("--all")
    assert code == 1 and "UNHEALTHY: builder" in out and "is not running" in out  # the dead builder's stale file
    for shard, guild in guilds.items():  # serving goes on throughout
        assert "policywire.example.com" in await ask(fake, guild, "When was the Cyber Resilience Act adopted?"), shard

    await cluster.stop()
    for s in (0, 1):  # a clean stop; the log says why when it was not
        name = f"replica-{s}"
        assert cluster.procs[name].returncode == 0, (cluster.procs[name].returncode, cluster.log(name)[-3000:])


# ---- the same on PostgreSQL: a machine each, nothing shared but POLICYBOT_DATABASE_URL ----------
@pytest.fixture
async def machines(fake: FakeDiscord, postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Each instance gets empty folders of its own; only the builder starts with the corpus."""

    def folders(instance: str) -> Folders:
        root = tmp_path / "machines" / instance
        (root / "data").mkdir(parents=True, exist_ok=True)
        if instance == "builder" and not (root / "corpus").exists():
            shutil.copytree(CORPUS, root / "corpus")
        (root / "corpus").mkdir(exist_ok=True)
        return Folders(root / "data", root / "corpus")

    logs = tmp_path / "logs"
    logs.mkdir()
    c = Cluster(fake, logs, folders, postgres_url)
    yield c
    with contextlib.suppress(Exception):
        await c.stop()


def leader_holder(url: str) -> dict[str, Any]:
    """Who holds the leader lock according to PostgreSQL (``pb_leader`` and ``pg_locks``)."""
    probe = DatabaseLeaderLock(url, "probe")
    try:
        return probe.holder() or {}
    finally:
        probe.release()


async def test_on_postgresql_a_builder_and_two_replicas_share_only_the_database(
    fake: FakeDiscord, machines: Cluster, postgres_url: str, news_site: str, tmp_path: Path
) -> None:
    cluster = machines
    fake.shard_count = 2
    other = fake.add_guild("Second Guild", shard=1 - fake.shard_of(fake.guild["id"]))
    guilds = {fake.shard_of(g["id"]): g for g in (fake.guild, other)}
    replicas = ("replica-0", "replica-1")
    version_of = lambda name: cluster.status(name).get("index_version")  # noqa: E731

    # The builder builds from its corpus and publishes; the replicas have empty folders and fetch it.
    await cluster.start("builder", ["builder"])
    await cluster.until(lambda: version_of("builder"), 300, "the builder to publish a first version")
    assert cluster.status("builder").get("leader")
    for shard in (0, 1):
        await cluster.start(
            f"replica-{shard}", ["run"], DISCORD_TOKEN=fake.token, POLICYBOT_SHARD_COUNT="2", POLICYBOT_SHARD_IDS=str(shard)
        )
    identified = lambda: {g.shard for g in fake.gateways if g.identified} >= {(0, 2), (1, 2)}  # noqa: E731
    await cluster.until(identified, 180, "both shards to identify")
    await cluster.until(lambda: all(cluster.status(n).get("connected") for n in replicas), 60, "both replicas' status")
    await cluster.until(
        lambda: all(version_of(n) == version_of("builder") for n in replicas), 60, "both replicas to serve the builder's version"
    )
    first = version_of("builder")
    for shard, guild in guilds.items():  # the same question, the same version, on two machines
        assert "policywire.example.com" in await ask(fake, guild, "When was the Cyber Resilience Act adopted?"), shard
    assert {version_of(n) for n in ("builder", *replicas)} == {first}
    assert not any(cluster.status(n).get("leader") for n in replicas)
    assert all((cluster.folders(n).data / "versions" / str(first)).is_dir() for n in replicas)  # a local cache each
    assert not any((cluster.folders(n).data / "status").exists() for n in ("builder", *replicas))  # heartbeats: rows
    code, out = await cluster.health("--all")
    assert code == 0, out
    lines = {line.split(" (")[0].removeprefix("ok: "): line for line in out.splitlines()}
    assert all(f"serving only, index {first}, heartbeat" in lines[n] for n in replicas), out  # the rows' versions
    assert "builder (builder" in out and f"leader, index {first}" in lines["builder"], out

    # A feed added from a third machine; the builder ingests and publishes; both replicas switch.
    admin = tmp_path / "machines" / "admin"
    Engine(
        Settings(_env_file=None, data_dir=admin / "data", corpus_dir=admin / "corpus", database_url=postgres_url)
    ).feeds.add(f"{news_site}/feed.xml", name="ruritania")
    await cluster.until(
        lambda: version_of("builder") != first and all(version_of(n) == version_of("builder") for n in replicas),
        300,
        "both replicas to switch to the builder's new version",
    )
    await both_shards_answer_from_the_feed(fake, cluster, guilds, replicas)
    assert not any(any(cluster.folders(n).corpus.iterdir()) for n in replicas)  # they serve without a corpus

    # The builder dies (SIGKILL): its session ends, and one replica's next retry takes the advisory lock.
    killed = time.monotonic()
    cluster.procs["builder"].send_signal(signal.SIGKILL)
    await cluster.procs["builder"].wait()
    taken = lambda: (h := leader_holder(postgres_url)).get("held") and h.get("instance") in replicas  # noqa: E731
    await cluster.until(taken, 30, "a replica to take the leader lock")
    took = time.monotonic()
    print(f"\nfail-over on PostgreSQL: SIGKILL to new leader in pb_leader/pg_locks: {took - killed:.2f} s")
    new_leader = str(leader_holder(postgres_url)["instance"])
    await cluster.until(lambda: cluster.status(new_leader).get("leader"), 30, "the new leader's heartbeat")
    # Several retry intervals later (each replica beat since): still exactly one leader.
    beat_after = time.time() + 4 * float(FAST["POLICYBOT_LEADER_RETRY_SECONDS"])
    await cluster.until(
        lambda: all(cluster.status(n).get("heartbeat_at", 0) > beat_after for n in replicas), 30, "later heartbeats"
    )
    assert [n for n in replicas if cluster.status(n).get("leader")] == [new_leader]
    assert leader_holder(postgres_url)["instance"] == new_leader
    assert "now ingests and builds" in cluster.log(new_leader)
    code, out = await cluster.health("--all")
    assert code == 1 and "UNHEALTHY: builder" in out and "is not running" in out, out  # its row outlives it
    for shard, guild in guilds.items():  # serving goes on throughout
        assert "policywire.example.com" in await ask(fake, guild, "When was the Cyber Resilience Act adopted?"), shard

    # The new leader builds: an article added through it is published, after its corpus was synced
    # from the database (the builder's files, the feed's article too); the other replica switches.
    served = version_of(new_leader)
    add = await fake.slash(
        "index",
        {"file": Attachment("SBOM Rules.md", NEW_ARTICLE.encode())},
        sub="add",
        user=fake.admin,
        guild=guilds[replicas.index(new_leader)],
    )
    await fake.wait_for(lambda: done(add), timeout=180)
    assert "Added `sbom-rules`" in add.messages()[0]["content"] and "Reindex done" in add.messages()[0]["content"]
    await cluster.until(
        lambda: all(version_of(n) not in (None, served) for n in replicas) and len({version_of(n) for n in replicas}) == 1,
        180,
        "both replicas to serve the new leader's version",
    )
    pulled = {p.name for p in cluster.folders(new_leader).corpus.rglob("*.md")}
    assert {p.name for p in CORPUS.glob("*.md")} | {"sbom-rules.md"} <= pulled, pulled
    for shard, guild in guilds.items():
        assert "supplychain.example.com/sbom-rules" in await ask(fake, guild, SBOM_QUESTION), shard
        text = await ask(fake, guild, "How much was Zenda Telecom fined for the late breach report?")
        assert "2.4 million" in text and "zenda-fine" in text, (shard, text)

    await cluster.stop()
    for name in replicas:
        assert cluster.procs[name].returncode == 0, (cluster.procs[name].returncode, cluster.log(name)[-3000:])
    assert {s.instance for s in DatabaseBoard(postgres_url).all()} == {"builder"}  # a clean stop removes its row
