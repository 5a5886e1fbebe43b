"""/watch: saved questions and the DMs sent when a new article matches."""
