"""What people do on the fake Discord (run a slash or message-menu command, click, autocomplete,
write, delete a message, rename a role) and the queries tests assert on (the bot's messages, replies, payloads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from measure.fakediscord.records import APP_ID, PERM_BASIC, Attachment, Interaction
from measure.fakediscord.rest import RestServer


class Scenario(RestServer):
    """The fake Discord's actions on behalf of its users, and its views for assertions."""

    async def delete_message(self, message: dict[str, Any]) -> None:
        """A user deletes their message (MESSAGE_DELETE); replies referencing it then fail as on Discord."""
        message["deleted"] = True
        data = {"id": message["id"], "channel_id": message["channel_id"]}
        if message.get("guild_id"):
            data["guild_id"] = message["guild_id"]
        await self.dispatch("MESSAGE_DELETE", data, message.get("guild_id"))
        await self._changed()

    async def rename_role(self, guild: dict[str, Any], name: str, new_name: str) -> dict[str, Any]:
        """A server admin renames a role (GUILD_ROLE_UPDATE)."""
        role = next(r for r in guild["roles"] if r["name"] == name)
        role["name"] = new_name
        await self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": guild["id"], "role": role}, guild["id"])
        await self._changed()
        return role

    # ---- scenario helpers (what a user does) --------------------------------------------------
    def _base_interaction(
        self, itype: int, user: dict[str, Any], guild: dict[str, Any] | None, channel: dict[str, Any] | None
    ) -> dict[str, Any]:
        iid = self.snowflake()
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": str(APP_ID),
            "type": itype,
            "token": f"itoken-{iid}",
            "version": 1,
            "attachment_size_limit": 10 * 1024 * 1024,
            "locale": "en-US",
            "app_permissions": str(PERM_BASIC),
            "entitlements": [],
        }
        if guild is not None:
            channel = channel or guild["channels"][0]
            payload.update(
                guild_id=guild["id"],
                guild={"id": guild["id"], "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=self.member_of(guild, user),
                context=0,
                authorizing_integration_owners={"0": guild["id"]},
            )
        else:
            channel = channel or self.dm_channel(user)
            payload.update(user=user, context=1, authorizing_integration_owners={"0": self.guild["id"]})
        payload["channel"] = channel
        payload["channel_id"] = channel["id"]
        return payload

    async def _deliver(self, payload: dict[str, Any], user: dict[str, Any]) -> Interaction:
        inter = Interaction(payload["id"], payload["token"], payload["type"], payload, self.now(), user["id"])
        self.interactions[inter.id] = inter
        await self.dispatch("INTERACTION_CREATE", payload, payload.get("guild_id"))
        await self._changed()
        return inter

    def _options(self, options: dict[str, Any], resolved: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for name, value in options.items():
            if isinstance(value, Attachment):
                aid = self.snowflake()
                self.cdn[f"{aid}-{value.filename}"] = value.data
                resolved.setdefault("attachments", {})[aid] = {
                    "id": aid,
                    "filename": value.filename,
                    "size": len(value.data),
                    "url": f"{self.base}/cdn/{aid}-{value.filename}",
                    "proxy_url": f"{self.base}/cdn/{aid}-{value.filename}",
                    "content_type": value.content_type,
                }
                out.append({"name": name, "type": 11, "value": aid})
            elif isinstance(value, dict) and "hoist" in value:  # a role (role option)
                resolved.setdefault("roles", {})[value["id"]] = value
                out.append({"name": name, "type": 8, "value": value["id"]})
            elif isinstance(value, dict) and "guild_id" in value:  # a guild channel (channel option)
                resolved.setdefault("channels", {})[value["id"]] = {**value, "permissions": str(PERM_BASIC)}
                out.append({"name": name, "type": 7, "value": value["id"]})
            elif isinstance(value, bool):
                out.append({"name": name, "type": 5, "value": value})
            elif isinstance(value, int):
                out.append({"name": name, "type": 4, "value": value})
            else:
                out.append({"name": name, "type": 3, "value": value})
        return out

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: dict[str, Any] | None = None,
        sub: str | None = None,
        dm: bool = False,
        guild: dict[str, Any] | None = None,
        forge: Callable[[dict[str, Any]], None] | None = None,
    ) -> Interaction:
        """A user runs ``/name [sub] options…`` in the guild channel (or in their DM with the bot).

        ``forge`` may rewrite the payload before delivery (a member claiming roles it lacks…)."""
        user = user or self.alice
        command, scope = self.command(name)
        resolved: dict[str, Any] = {}
        opts = self._options(options or {}, resolved)
        if sub is not None:
            opts = [{"name": sub, "type": 1, "options": opts}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if resolved:
            data["resolved"] = resolved
        if scope != "global":
            data["guild_id"] = scope
        payload = self._base_interaction(2, user, None if dm else (guild or self.guild), None)
        payload["data"] = data
        if forge is not None:
            forge(payload)
        return await self._deliver(payload, user)

    async def message_menu(
        self,
        name: str,
        message: dict[str, Any],
        *,
        user: dict[str, Any] | None = None,
    ) -> Interaction:
        """A user picks the message context-menu command ``name`` on ``message`` (in its channel)."""
        user = user or self.alice
        command, scope = self.command(name)
        assert command.get("type") == 3, f"{name!r} is not a message command"
        channel = self.channels[message["channel_id"]]
        guild = self.guilds.get(channel.get("guild_id") or "")
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        if scope != "global":
            data["guild_id"] = scope
        payload = self._base_interaction(2, user, guild, channel)
        payload["data"] = data
        return await self._deliver(payload, user)

    async def autocomplete(
        self,
        name: str,
        sub: str | None,
        option: str,
        value: str,
        *,
        user: dict[str, Any] | None = None,
        guild: dict[str, Any] | None = None,
    ) -> Interaction:
        user = user or self.admin
        command, scope = self.command(name)
        opts: list[dict[str, Any]] = [{"name": option, "type": 3, "value": value, "focused": True}]
        if sub is not None:
            opts = [{"name": sub, "type": 1, "options": opts}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if scope != "global":
            data["guild_id"] = scope
        payload = self._base_interaction(4, user, guild or self.guild, None)
        payload["data"] = data
        return await self._deliver(payload, user)

    async def click(
        self, message: dict[str, Any], custom_id: str, *, user: dict[str, Any] | None = None
    ) -> Interaction:
        """A user clicks a button on a message the bot sent."""
        user = user or self.alice
        channel = self.channels[message["channel_id"]]
        guild = self.guilds.get(channel.get("guild_id") or "")
        payload = self._base_interaction(3, user, guild, channel)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        payload["message"] = message
        return await self._deliver(payload, user)

    async def user_message(
        self,
        content: str,
        *,
        user: dict[str, Any] | None = None,
        dm: bool = False,
        mention_bot: bool = False,
        channel: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user writes in the guild channel (or ``channel``), or in their DM with the bot."""
        user = user or self.alice
        channel = self.dm_channel(user) if dm else (channel or self.channel)
        if mention_bot:
            content = f"<@{APP_ID}> {content}"
        msg = self._new_message(channel, {"content": content}, author=user)
        if mention_bot:
            msg["mentions"] = [self.bot_user]
        event = msg
        if not dm and not mention_bot and not any(gw.intents & (1 << 15) for gw in self.gateways):
            # No message-content intent: Discord blanks the event, yet keeps the text (a menu command sees it).
            event = {**msg, "content": ""}
        await self.dispatch("MESSAGE_CREATE", event, channel.get("guild_id"))
        await self._changed()
        return msg

    async def start_thread(self, message: dict[str, Any], name: str, *, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """A user starts a public thread from ``message`` (THREAD_CREATE reaches the bot too)."""
        user = user or self.alice
        thread = self.thread(self.channels[message["channel_id"]], message, name, user)
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True}, thread["guild_id"])
        await self._changed()
        return thread

    # ---- queries for assertions ------------------------------------------------------------
    def bot_messages(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages.values()
            if m["author"]["id"] == self.bot_user["id"] and (channel_id is None or m["channel_id"] == channel_id)
        ]

    def replies_to(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            m
            for m in self.bot_messages(message["channel_id"])
            if (m.get("message_reference") or {}).get("message_id") == str(message["id"])
        ]

    def all_payloads(self) -> list[dict[str, Any]]:
        """Every message body the bot sent or edited (for allowed_mentions checks)."""
        bot_id = self.bot_user["id"]
        return [
            p
            for mid, payloads in self.message_payloads.items()
            if self.messages[mid]["author"]["id"] == bot_id
            for p in payloads
            if isinstance(p, dict)
        ]

