"""The engine's console commands (``policybot build | ask | chat | stats | feeds …``)."""
