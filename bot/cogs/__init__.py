"""Command groups (discord.py extensions), loaded by ``bot.app``."""
