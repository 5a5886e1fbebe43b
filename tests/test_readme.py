"""The README's promises that code can check: every setting documented in its one table."""

from __future__ import annotations

from pathlib import Path

from bot.config import BotSettings

README = Path(__file__).resolve().parent.parent / "README.md"


def settings_section() -> str:
    text = README.read_text()
    start = text.index("## Settings")
    return text[start : text.index("\n## ", start + 1)]


def test_every_setting_has_a_row_in_the_settings_table() -> None:
    table = settings_section()
    names = []
    for name, field in BotSettings.model_fields.items():
        alias = getattr(field.validation_alias, "choices", [name])[0]
        names.append(str(alias))
    missing = [n for n in names if f"`{n}`" not in table]
    assert missing == []
    assert len(names) > 30  # the bot's settings contain the engine's
