"""Optional written answers from a language model, checked against their sources (issue 10).

The extractive answer stays the default and the fallback: the model sees only the passages the
extractive stage chose, and its text is sent only when every sentence passes the checker.
"""

from index.generation._service import Writer

__all__ = ["Writer"]
