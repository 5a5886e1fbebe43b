"""Reader model training and held-out evaluation (never imported by the runtime)."""
