"""Answers: /ask, /search, /about, mentions and DMs, source and vote buttons, written answers."""
