"""/digest: the period's news, one quoted line per story (anyone); /digest-schedule: weekly in a
channel (this server's moderators). Two top-level commands: Discord cannot run a command that has
subcommands, and the moderators' one is then hidden from members who cannot use it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import NO_PINGS, BotError
from bot.core.moderated import PER_GUILD, ModeratorCog
from bot.core.protocol import BotCore
from bot.features.digest.render import digest_embed
from bot.features.digest.schedule import POSTED, SCHEDULE, WEEKDAYS, DigestScheduler, Schedule

WEEKDAY_CHOICES = [app_commands.Choice(name=name, value=i) for i, name in enumerate(WEEKDAYS)]


class DigestCog(commands.Cog):
    def __init__(self, bot: BotCore) -> None:
        self.bot = bot

    @app_commands.command(name="digest", description="What happened in cyber-policy news lately: one quoted line per story.")
    @app_commands.describe(days="The last how many days (1-31, default 7)")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def digest(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 31] = 7) -> None:
        self.bot.check_cooldown(interaction.user.id)
        await interaction.response.defer(thinking=True)
        try:
            digest = await self.bot.in_worker(self.bot.engine.digest.stories, days)
        except ValueError as exc:
            raise BotError(str(exc)) from exc
        await interaction.followup.send(embed=digest_embed(digest), allowed_mentions=NO_PINGS)
        self.bot.metrics.digests.labels("command").inc()


class DigestScheduleCog(ModeratorCog):
    changes = "this server's digest"

    def __init__(self, bot: BotCore, scheduler: DigestScheduler) -> None:
        super().__init__(bot)
        self.scheduler = scheduler

    @app_commands.command(
        name="digest-schedule",
        description="Moderators: post the week's digest in a channel every week (or turn it off).",
        extras=PER_GUILD,
    )
    @app_commands.describe(
        channel="Where to post it", weekday="Which day", hour="Hour of the day, UTC (default 9)", off="Stop posting it"
    )
    @app_commands.choices(weekday=WEEKDAY_CHOICES)
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.default_permissions(manage_guild=True)
    async def schedule(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        weekday: app_commands.Choice[int] | None = None,
        hour: app_commands.Range[int, 0, 23] = 9,
        off: bool = False,
    ) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            raise BotError("A digest is scheduled per server.")
        if off:
            if channel is not None or weekday is not None:
                raise BotError("Give off:True alone, or a channel and a weekday.")
            await self.bot.guild_settings.aset(guild_id, SCHEDULE, None)
            await self.bot.guild_settings.aset(guild_id, POSTED, None)
            await self._audit(interaction, "digest schedule off")
            await interaction.response.send_message("The weekly digest is off here.", ephemeral=True, allowed_mentions=NO_PINGS)
            return
        if channel is None or weekday is None:
            raise BotError("Give a channel and a weekday (or off:True).")
        me = channel.guild.me
        if me is not None:
            perms = channel.permissions_for(me)
            if not (perms.view_channel and perms.send_messages and perms.embed_links):
                raise BotError(f"I cannot post in {channel.mention}: I need View Channel, Send Messages and Embed Links there.")
        chosen = Schedule(channel.id, weekday.value, hour)
        await self.bot.guild_settings.aset(guild_id, SCHEDULE, chosen.to_setting())
        await self.scheduler.mark_current(guild_id, chosen)
        self.scheduler.wake()
        await self._audit(interaction, "digest scheduled", channel_id=channel.id, weekday=weekday.value, hour=hour)
        await interaction.response.send_message(
            f"The week's digest will be posted in {channel.mention} {chosen.describe()}, without pings.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
