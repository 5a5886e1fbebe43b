"""/settings: per-guild choices for moderators."""
