"""/index: moderators change what the bot knows; reindexing in the background."""
