"""The bot by feature: each package registers its commands, views and tasks in ``setup()``."""
