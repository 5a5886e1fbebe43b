"""Every neural model the engine runs, made in one factory."""
