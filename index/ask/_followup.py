"""Follow-up questions in a conversation ("and who else was there?") borrow the previous question."""

from __future__ import annotations

import re

from index.terms import content_terms

_CUES = re.compile(
    r"^(and|also|but|so|what about|how about|and what|then)\b|\b(else|also|too|they|them|their|it|its|he|she|"
    r"his|her|that|those|these|there|this one|the same)\b",
    re.I,
)


def is_follow_up(question: str) -> bool:
    """Short and leaning on something said before (a pronoun, 'else', a leading 'and')."""
    return len(content_terms(question)) <= 4 and bool(_CUES.search(question.strip()))


def contextualize(question: str, previous: str | None) -> str:
    """The text to retrieve with: the question alone, or joined to the previous one."""
    if previous and is_follow_up(question):
        return f"{previous.strip()} {question.strip()}"
    return question
