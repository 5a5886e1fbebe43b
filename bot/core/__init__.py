"""What every bot feature shares: permissions, rendering, errors, audit, rate limits, metrics."""
