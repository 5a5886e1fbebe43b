"""Test harness shared by the suites: fakes, article writers, local servers, tiny models.

Test modules import from here, never from one another; ``measure`` holds what benchmarks share.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
