"""/index …: moderator commands that change what the bot knows.

The index is shared by every server, so changing it takes a home server's moderator
(:mod:`bot.core.moderated`) and every change is audited; ``/index status`` is any moderator's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePath

import aiohttp
import discord
from discord import app_commands

from bot.core.errors import NO_PINGS, BotError
from bot.core.gaps import GAP_SOURCE, gap_report, since
from bot.core.moderated import PER_GUILD, ModeratorCog
from bot.core.ratelimit import Withheld
from bot.core.reindex import Listener, ReindexJob, ReindexRunning
from bot.core.render import escape_markdown, plain, progress_text, trim
from bot.features.index.gaps import gaps_embed
from index import IndexMissingError, PolicybotError

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")


def who(user: discord.abc.User) -> str:
    return f"{user} ({user.id})"


def job_summary(job: ReindexJob) -> str:
    if not job.finished:
        return f"Reindexing… {progress_text(job.progress)}"
    if job.error:
        return f"Reindex failed: {plain(job.error)}\nThe live index was not changed and keeps answering."
    r = job.report
    assert r is not None
    text = (
        f"Reindex done: version `{r.version}`, {r.articles} articles "
        f"(added {r.added}, changed {r.changed}, removed {r.removed}, unchanged {r.unchanged}) "
        f"in {r.seconds:.1f} s."
    )
    if r.errors:
        skipped = plain("; ".join(f"{name}: {reason}" for name, reason in r.errors[:5]))
        text += f"\nSkipped {len(r.errors)} file(s): {skipped}"
    return trim(text, 1900)


class AdminCog(ModeratorCog):
    index = app_commands.Group(
        name="index",
        description="Moderators: change and rebuild the article index.",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    changes = "the index"

    def _status_listener(self, interaction: discord.Interaction, prefix: str = "") -> Listener:
        """Edits the command's message with the job's progress; audits the outcome at the end."""

        async def listener(job: ReindexJob) -> None:
            # Decided once: the job may end while this call awaits Discord, and then the final call
            # (which audits first) must be the one that posts the report, not this one.
            finished = job.finished
            if finished:
                await self._audit(
                    interaction,
                    "reindex finished" if job.ok else "reindex failed",
                    job=job.id,
                    full=job.full,
                    version=job.report.version if job.report else None,
                    error=job.error,
                )
            try:
                await interaction.edit_original_response(content=prefix + job_summary(job), allowed_mentions=NO_PINGS)
            except discord.HTTPException as exc:  # e.g. the 15-minute interaction token expired
                log.info("could not edit the reindex status message: %s", exc)
                if finished and interaction.channel is not None and hasattr(interaction.channel, "send"):
                    report = partial(interaction.channel.send, prefix + job_summary(job), allowed_mentions=NO_PINGS)
                    await self._post_report(interaction.channel.id, report)

        return listener

    async def _post_report(self, channel_id: int, send: Callable[[], Awaitable[object]]) -> None:
        """Post the final report in the channel (the token expired) through the send guard, so a channel
        that refuses the bot is left alone; the audit log keeps the outcome either way."""
        for attempt in (1, 2):  # the only copy of the report: one retry on a dropped connection
            try:
                await self.bot.send_guard.send(channel_id, send)
                return
            except Withheld:
                log.warning("the reindex report was not posted: channel %s refuses the bot lately", channel_id)
                return
            except (aiohttp.ClientError, OSError):
                if attempt == 2:
                    raise
                log.info("sending the reindex report failed on a dropped connection; retrying")

    # ---- /index reindex ----------------------------------------------------------------
    @index.command(name="reindex", description="Rebuild the index from the corpus folder in the background.")
    @app_commands.describe(full="Re-embed every article instead of only new and changed ones")
    async def reindex(self, interaction: discord.Interaction, full: bool = False) -> None:
        running = self.bot.reindexer.current
        if running is not None:
            await interaction.response.send_message(
                str(ReindexRunning(running)), ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        await interaction.response.send_message(
            f"Reindex {'(full) ' if full else ''}starting…", ephemeral=True, allowed_mentions=NO_PINGS
        )
        job = self.bot.reindexer.start(
            full=full, requested_by=str(interaction.user), listener=self._status_listener(interaction)
        )
        # Written before the job's task first runs (no await in between), so "started" always
        # precedes "finished"/"failed" in the log; one short append is cheap enough for the loop.
        self.bot.audit.write(
            action="reindex started",
            user_id=interaction.user.id,
            user=str(interaction.user),
            guild_id=interaction.guild_id,
            job=job.id,
            full=full,
        )

    # ---- /index status -----------------------------------------------------------------
    @index.command(name="status", description="The live index and any reindex in progress.", extras=PER_GUILD)
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        lines = []
        try:
            s = await self.bot.in_worker(self.bot.engine.stats)
            lines.append(
                f"Live index `{s.version}`: {s.articles} articles, {s.chunks} chunks, built {s.built_at}, "
                f"newest article {s.newest_published or 'undated'}, model {s.model}."
            )
        except IndexMissingError as exc:
            lines.append(str(exc))
        job = self.bot.reindexer.current
        if job is not None:
            # Who started it may be a member of another server: named only to those who manage the index.
            by = job.requested_by if self.shared_access(interaction).allowed else "a moderator"
            lines.append(
                f"Running: started by {by} "
                f"{discord.utils.format_dt(_dt(job.started_at), 'R')}, "
                f"{progress_text(job.progress)}"
            )
        elif self.bot.reindexer.last is not None:
            lines.append("Last reindex: " + job_summary(self.bot.reindexer.last))
        await interaction.followup.send(trim("\n".join(lines), 1900), ephemeral=True, allowed_mentions=NO_PINGS)

    # ---- /index gaps -------------------------------------------------------------------
    @index.command(
        name="gaps", description="Questions declined or voted 👎 here, grouped, with the nearest article.", extras=PER_GUILD
    )
    @app_commands.describe(days="The last how many days (default 7)")
    async def gaps(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 7) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            source = GAP_SOURCE.of(self.bot)
        except LookupError:
            raise BotError("This bot keeps no answers (its answers feature is off).") from None
        # this server's questions only: a moderator here never reads other servers' (or DMs') questions
        questions = await asyncio.to_thread(source.gap_questions, since(days), interaction.guild_id)
        report = await self.bot.in_worker(gap_report, self.bot.engine, questions)
        await interaction.followup.send(embed=gaps_embed(report, days), ephemeral=True, allowed_mentions=NO_PINGS)

    # ---- /index add --------------------------------------------------------------------
    @index.command(name="add", description="Add an article from a web page or an attached .md/.txt/.html file.")
    @app_commands.describe(url="Address of the article page", file="An article file (.md, .txt or .html)")
    async def add(
        self, interaction: discord.Interaction, url: str | None = None, file: discord.Attachment | None = None
    ) -> None:
        if (url is None) == (file is None):
            raise BotError("Give either a url or a file, not both.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = self.bot.settings
        if file is not None:
            suffix = PurePath(file.filename).suffix.lower()
            if suffix not in UPLOAD_SUFFIXES:
                raise BotError("Only .md, .txt and .html files can be added.")
            if file.size > settings.fetch_max_bytes:
                raise BotError(f"That file is larger than {settings.fetch_max_bytes // 1000} kB.")
            data = await file.read()
            article_id = await asyncio.to_thread(self.bot.engine.corpus.add_file, file.filename, data)
            origin = f"attachment {file.filename}"
        else:
            assert url is not None
            # Same path as `policybot add URL`: safe fetch, extraction, duplicate and wire-copy folding.
            article_id = await asyncio.to_thread(self.bot.engine.feeds.add_url, url.strip())
            origin = url.strip()
        await self._audit(interaction, "article added", article=article_id, origin=origin)
        # [] : the build looks only at what the edit left owed (its file), not at the whole corpus
        await self._reindex_after_change(interaction, f"Added `{article_id}` from {escape_markdown(trim(origin, 300))}.\n", [])

    # ---- /index remove -----------------------------------------------------------------
    @index.command(name="remove", description="Remove an article (it is moved to the trash, not deleted).")
    @app_commands.describe(article="The article's id")
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        moved = await asyncio.to_thread(self.bot.engine.corpus.remove, article)
        await self._audit(interaction, "article removed", article=article, trash=str(moved))
        await self._reindex_after_change(interaction, f"Removed `{article}` (kept in the trash as `{moved.name}`).\n")

    @remove.autocomplete("article")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not self.shared_access(interaction).allowed:
            return []
        try:
            hits = await self.bot.in_worker(self.bot.engine.articles)
        except PolicybotError:
            return []
        needle = current.casefold().strip()
        choices = []
        for h in hits:
            c = h.citation
            if needle and needle not in c.article_id.casefold() and needle not in c.title.casefold():
                continue
            if len(c.article_id) > 100:
                continue  # Discord caps choice values at 100 characters
            label = trim(plain(f"{c.title} ({c.published or 'undated'})"), 100)
            choices.append(app_commands.Choice(name=label, value=c.article_id))
            if len(choices) == 25:
                break
        return choices

    async def _reindex_after_change(
        self, interaction: discord.Interaction, prefix: str, changed: list[Path] | None = None
    ) -> None:
        """Incremental reindex now, or queued behind the one that runs (``changed``: the files the
        change wrote, so the build need not compare the whole corpus)."""
        listener = self._status_listener(interaction, prefix)
        if self.bot.reindexer.running:
            self.bot.reindexer.start_or_queue(requested_by=str(interaction.user), listener=listener, changed=changed)
            await interaction.followup.send(
                prefix + "A reindex is already running; the change will be indexed right after it.",
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        # The follow-up replaces "thinking…" first, so the progress edits land on that message.
        await interaction.followup.send(prefix + "Reindexing…", ephemeral=True, allowed_mentions=NO_PINGS)
        job = self.bot.reindexer.start_or_queue(requested_by=str(interaction.user), listener=listener, changed=changed)
        if job is not None:
            await self._audit(interaction, "reindex started", job=job.id, full=False)


def _dt(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
