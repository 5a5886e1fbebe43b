"""A question to an answer: understanding it, retrieval, second stages and composition."""
