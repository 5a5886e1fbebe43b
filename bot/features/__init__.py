"""The bot by feature: each package's ``setup(bot)`` registers its commands, views, tasks and stores."""
