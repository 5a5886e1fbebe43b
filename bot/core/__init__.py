"""What every feature shares: the bot as features see it, hooks, builds, stores, guards, rendering, errors."""
