"""Test harness shared by the suites (fakes, article writers)."""
