"""Builders for public benchmark sets: each writes a Markdown corpus and returns its questions."""
