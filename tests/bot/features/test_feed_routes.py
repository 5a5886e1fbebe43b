"""Announcement routes and where feed alerts go, without Discord: real SQLite in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import BotError
from bot.core.guild_settings import GuildSettings
from bot.features.feeds.alerts import alert_channels, alert_text
from bot.features.feeds.routes import MAX_ROUTES, AnnounceRoutes, Route
from index import FeedAlert


def test_routes_are_per_channel_bounded_and_the_old_setting_is_adopted_once(
    tmp_path: Path, state_url: str | None
) -> None:
    settings = GuildSettings(tmp_path / "guild_settings.sqlite", database_url=state_url)
    settings.set(1, "announce_channel", "100")
    routes = AnnounceRoutes(tmp_path / "announce.sqlite", database_url=state_url)
    assert routes.adopt_legacy(settings) == 1 and routes.adopt_legacy(settings) == 0
    assert routes.every() == [Route(1, 100)] and settings.get(1, "announce_channel") is None
    routes.put(Route(1, 100, "  ransomware   gangs ", 7))  # the same channel: changed, not doubled
    assert routes.of_guild(1) == [Route(1, 100, "ransomware gangs", 7)]
    for channel in range(101, 100 + MAX_ROUTES):
        routes.put(Route(1, channel))
    with pytest.raises(BotError, match="already announces"):
        routes.put(Route(1, 999))
    routes.put(Route(2, 999))  # another server has its own limit
    assert routes.remove(1, 100) == 1 and routes.remove(1) == MAX_ROUTES - 1 and routes.of_guild(1) == []
    routes.close()
    settings.close()


def test_guild_settings_set_change_remove_and_list(tmp_path: Path, state_url: str | None) -> None:
    big = 1_234_567_890_123_456_789  # a Discord snowflake: 64 bits
    settings = GuildSettings(tmp_path / "guild_settings.sqlite", database_url=state_url)
    settings.set(big, "answers", "quoted")
    settings.set(big, "answers", "written")  # changed, not doubled
    settings.set(2, "answers", "quoted")
    settings.set(2, "other", "x")
    assert settings.get(big, "answers") == "written" and settings.all("answers") == {big: "written", 2: "quoted"}
    settings.set(2, "answers", None)
    assert settings.get(2, "answers") is None and settings.all("answers") == {big: "written"}
    settings.close()
    again = GuildSettings(tmp_path / "guild_settings.sqlite", database_url=state_url)  # persists
    assert again.get(2, "other") == "x"
    again.close()


def test_alerts_go_to_one_topic_free_channel_per_home_server() -> None:
    routes = [Route(1, 10, "ransomware"), Route(1, 11), Route(1, 12), Route(2, 20, "eu"), Route(3, 30)]
    assert alert_channels(routes, None, {1, 2, 3}) == [11, 20, 30]
    assert alert_channels(routes, frozenset({1}), {1, 2, 3}) == [11]
    assert alert_channels(routes, None, {2}) == [20]  # servers the bot left get nothing


def test_alert_text_names_the_feed_and_error_inertly() -> None:
    alert = FeedAlert("**Evil** [x](http://a)", "http://a", "failing", 3, "HTTP 503 <@&1>", None)
    text = alert_text(alert)
    assert "failed 3 polls in a row" in text and "\\*\\*Evil\\*\\*" in text and "\\[x\\]" in text
    assert "http://" not in text and "<@&1>" not in text  # no link, no mention (escaped)
    assert "works again" in alert_text(FeedAlert("Wire", "http://a", "recovered", 0, None, None))
