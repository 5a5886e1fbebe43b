"""``policybot eval``: measure retrieval, answers, abstention and latency against question sets.

The harness talks to the engine only through its public API (``Engine.search`` / ``Engine.ask``),
so the numbers describe what the bot's users get, not an internal shortcut.
"""
