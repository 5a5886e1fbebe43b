"""``policybot bench``: speed, memory and scale, as ratios against a baseline in the same run."""
