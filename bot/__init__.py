"""policybot's Discord front end: slash commands, DMs and mentions over the engine in ``index``."""
