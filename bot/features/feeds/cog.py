"""/feeds …: moderators choose the news feeds the bot follows and where new articles are announced.
Feeds are shared by every server, so changing them takes a home server's moderator
(:mod:`bot.core.moderated`); list, export and this server's announcement channels are any moderator's."""

from __future__ import annotations

import io
import logging
from pathlib import PurePath

import discord
from discord import app_commands

from bot.core.errors import NO_PINGS, BotError
from bot.core.moderated import PER_GUILD, ModeratorCog
from bot.core.protocol import BotCore
from bot.core.render import COLOR, DESCRIPTION_MAX, FOOTER_MAX, escape_markdown, link_text, plain, trim
from bot.features.feeds.poller import FeedPoller
from bot.features.feeds.routes import MAX_TOPIC, AnnounceRoutes, Route
from index import FeedState

OPML_SUFFIXES = (".opml", ".xml", ".txt")
MAX_OPML_UPLOAD = 1_000_000

log = logging.getLogger(__name__)


def feed_line(f: FeedState) -> str:
    """A feed's state in two or three lines (Discord timestamps show in each reader's time zone)."""
    state = "on" if f.enabled else "off"
    success = discord.utils.format_dt(f.last_success, "R") if f.last_success else "never"
    lines = [
        f"**{link_text(trim(f.name, 100))}** ({state}, every {f.every_minutes} min) — {escape_markdown(trim(f.url, 200))}",
        f"last success {success} · items seen {f.items_seen} · articles added {f.articles_added}",
    ]
    if f.last_error:
        lines.append(f"last error: {link_text(trim(f.last_error, 200))}")
    if f.item_errors:
        lines.append(f"items not ingested in the last poll: {link_text(trim(f.item_errors, 300))}")
    if f.failing:
        lines.append(f"**failing**: {f.consecutive_failures} failed polls in a row")
    return "\n".join(lines)


def route_text(route: Route, mention: bool = True) -> str:
    """``#channel (topic “x”, mentions @role)`` (ids in a footer, which shows no mentions)."""
    where = f"<#{route.channel_id}>" if mention else f"channel {route.channel_id}"
    topic = f"topic “{plain(route.topic)}”" if route.topic else "every new article"
    role = (f", mentions <@&{route.role_id}>" if mention else f", mentions role {route.role_id}") if route.role_id else ""
    return f"{where} ({topic}{role})"


class FeedsCog(ModeratorCog):
    feeds = app_commands.Group(
        name="feeds",
        description="Moderators: the news feeds the bot follows, and where new articles are announced.",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    changes = "the feeds"

    def __init__(self, bot: BotCore, poller: FeedPoller, routes: AnnounceRoutes) -> None:
        super().__init__(bot)
        self.poller = poller
        self.routes = routes

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.followup.send(trim(text, 1900), ephemeral=True, allowed_mentions=NO_PINGS)

    @feeds.command(name="add", description="Follow an RSS or Atom feed; new articles are indexed as they appear.")
    @app_commands.describe(
        url="The feed's address (http or https)",
        name="A short name, shown as the outlet (default: the URL)",
        every="Minutes between polls (at least 5; default 60)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 500],
        name: app_commands.Range[str, 1, 80] | None = None,
        every: app_commands.Range[int, 5, 10080] = 60,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        feed = await self.bot.in_worker(self.bot.engine.feeds.add, url, name=name, every_minutes=every)
        await self._audit(interaction, "feed added", feed=feed.name, url=feed.url, every_minutes=feed.every_minutes)
        self.poller.wake()
        await self._reply(
            interaction, f"Following **{link_text(feed.name)}** ({escape_markdown(feed.url)}); checking it now, then every {every} minutes."
        )

    @feeds.command(name="remove", description="Stop following a feed (its articles stay in the index).")
    @app_commands.describe(feed="The feed's name or URL")
    async def remove(self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 500]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.bot.in_worker(self.bot.engine.feeds.remove, feed)
        await self._audit(interaction, "feed removed", feed=removed.name, url=removed.url)
        await self._reply(interaction, f"Stopped following **{link_text(removed.name)}**; its articles stay.")

    @feeds.command(name="enable", description="Turn a feed on or off (e.g. one of the starter list).")
    @app_commands.describe(feed="The feed's name or URL", on="On (default) or off")
    async def enable(self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 500], on: bool = True) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        changed = await self.bot.in_worker(self.bot.engine.feeds.enable, feed, on)
        await self._audit(interaction, "feed enabled" if on else "feed disabled", feed=changed.name)
        if on:
            self.poller.wake()
        await self._reply(interaction, f"**{link_text(changed.name)}** is {'on' if on else 'off'}.")

    @feeds.command(name="starter", description="Add the shipped list of cybersecurity-policy feeds (all off).")
    async def starter(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        added = await self.bot.in_worker(self.bot.engine.feeds.install_starter)
        await self._audit(interaction, "starter feeds installed", feeds=added)
        await self._reply(
            interaction, f"Added {len(added)} starter feed(s), all off. Turn one on with `/feeds enable feed:<name>`."
        )

    @remove.autocomplete("feed")
    @enable.autocomplete("feed")
    async def feed_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not self.shared_access(interaction).allowed:
            return []
        feeds = await self.bot.in_worker(self.bot.engine.feeds.all)
        needle = current.casefold().strip()
        return [
            app_commands.Choice(name=trim(plain(f.name), 100), value=f.name)
            for f in feeds
            if len(f.name) <= 100 and plain(f.name).strip()
            and (not needle or needle in f.name.casefold() or needle in f.url.casefold())
        ][:25]

    @feeds.command(name="list", description="The feeds followed, with their last success and last error.", extras=PER_GUILD)
    async def list_(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        feeds = await self.bot.in_worker(self.bot.engine.feeds.all)
        routes = await self.routes.aof_guild(interaction.guild_id or 0)
        embed = discord.Embed(title=f"Feeds ({len(feeds)})", colour=COLOR)
        blocks: list[str] = []
        for f in feeds:
            block = feed_line(f)
            if sum(len(b) + 2 for b in blocks) + len(block) > DESCRIPTION_MAX - 80:
                blocks.append(f"…and {len(feeds) - len(blocks)} more (`policybot feeds list`).")
                break
            blocks.append(block)
        embed.description = "\n\n".join(blocks) or "No feeds yet: `/feeds add url:<feed>` or `/feeds starter`."
        announced = "; ".join(route_text(r, mention=False) for r in routes) or "off"
        embed.set_footer(text=trim(f"Announcements: {announced}", FOOTER_MAX))
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @feeds.command(name="import", description="Follow the feeds of an OPML file (exported by another RSS reader or bot).")
    @app_commands.describe(file="An OPML file (.opml)")
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if PurePath(file.filename).suffix.lower() not in OPML_SUFFIXES:
            raise BotError("Attach an OPML file (.opml).")
        if file.size > MAX_OPML_UPLOAD:
            raise BotError(f"That file is larger than {MAX_OPML_UPLOAD // 1000} kB.")
        data = await file.read()
        result = await self.bot.in_worker(self.bot.engine.feeds.import_opml, data)
        await self._audit(
            interaction, "feeds imported", file=file.filename, added=result.added, skipped=len(result.skipped)
        )
        if result.added:
            self.poller.wake()
        await self._reply(interaction, f"Imported {escape_markdown(trim(file.filename, 100))}: {plain(result.summary())}")

    @feeds.command(name="export", description="The feeds followed, as an OPML file for another reader.", extras=PER_GUILD)
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await self.bot.in_worker(self.bot.engine.feeds.export_opml)
        count = len(await self.bot.in_worker(self.bot.engine.feeds.all))
        await interaction.followup.send(
            f"{count} feed(s), as OPML.",
            file=discord.File(io.BytesIO(data), filename="policybot-feeds.opml"),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @feeds.command(
        name="announce",
        description="Post new articles in a channel, optionally only those on a topic (or turn it off).",
        extras=PER_GUILD,
    )
    @app_commands.describe(
        channel="Where to post new articles (several channels may each have a topic)",
        topic="Only articles about this, e.g. “ransomware” (scored like /watch); default: every article",
        role="A role to mention with each post there (members opt in by taking the role)",
        off="Stop posting in this channel, or (without a channel) everywhere in this server",
    )
    async def announce(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        topic: app_commands.Range[str, 3, MAX_TOPIC] | None = None,
        role: discord.Role | None = None,
        off: bool = False,
    ) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            raise BotError("Announcements are set per server.")
        if off:
            if topic is not None or role is not None:
                raise BotError("off:True takes no topic or role.")
            await interaction.response.defer(ephemeral=True, thinking=True)
            stopped = await self.routes.aremove(guild_id, channel.id if channel else None)
            await self._audit(interaction, "announcements off", channel_id=channel.id if channel else None)
            where = channel.mention if channel else "this server"
            await self._reply(interaction, f"New articles will no longer be announced in {where} ({stopped} channel(s) stopped).")
            return
        if channel is None:
            raise BotError("Give a channel, or off:True.")
        if role is not None and (role.is_default() or role.guild.id != guild_id):
            raise BotError("Choose a role members can take, not @everyone.")
        me = channel.guild.me
        if me is not None:
            # Checked now, not discovered at the first poll: a channel the bot cannot post in would
            # swallow every announcement.
            perms = channel.permissions_for(me)
            if not (perms.view_channel and perms.send_messages and perms.embed_links):
                raise BotError(
                    f"I cannot post in {channel.mention}: I need View Channel, Send Messages and Embed Links there."
                )
        await interaction.response.defer(ephemeral=True, thinking=True)
        route = await self.routes.aput(Route(guild_id, channel.id, topic, role.id if role else None))
        await self._audit(
            interaction, "announcements on", channel_id=channel.id, topic=route.topic, role_id=route.role_id
        )
        what = f"New articles on “{escape_markdown(route.topic)}”" if route.topic else "New articles"
        text = f"{what} will be posted in {channel.mention}, batched per poll"
        text += f", mentioning {role.mention} (and no one else)." if role else ", without pings."
        if role is not None and not role.mentionable and not (me and channel.permissions_for(me).mention_everyone):
            text += " Note: that role is not mentionable, so Discord will show the mention without notifying anyone."
        await self._reply(interaction, text)
