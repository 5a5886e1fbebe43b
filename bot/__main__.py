"""``python -m bot run`` behaves like the ``policybot run`` console script."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
