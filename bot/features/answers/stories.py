"""The stories of an ambiguous answer: the best one first, then its alternatives, as shown and as stored.

A story's button carries only the stored answer's id and the story's number, so after a restart the
story is read back from the stored JSON; an old or damaged record simply has no such story.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from index import Answer, Citation, Source, Span

MAX_STORIES = 3
"""The best story and at most two others: as many as one row of buttons and a short list hold."""


def stories(answer: Answer) -> tuple[Answer, ...]:
    """The answer's stories, best first; a plain answer is its only story."""
    return (answer, *answer.alternatives)[:MAX_STORIES]


def stored_story(answer_json: dict[str, Any], number: int) -> Answer | None:
    """Story ``number`` (1 is the answer itself) of a stored answer, without its own alternatives;
    None when the record has no such story or it cannot be read."""
    data: Any = answer_json
    if number != 1:
        alternatives = answer_json.get("alternatives")
        if not isinstance(alternatives, list) or not 2 <= number <= min(len(alternatives) + 1, MAX_STORIES):
            return None
        data = alternatives[number - 2]
    return answer_from_json(data)


def answer_from_json(data: Any) -> Answer | None:
    """An answer back from :meth:`Answer.to_json` (its alternatives left out), or None if malformed."""
    try:
        short = data.get("short_answer")
        return Answer(
            question=str(data["question"]),
            answerable=bool(data["answerable"]),
            text=str(data["answer"]),
            spans=tuple(Span(int(s["start"]), int(s["end"]), str(s["kind"])) for s in data.get("spans") or ()),
            sources=tuple(_source(s) for s in data.get("sources") or ()),
            confidence=float(data.get("confidence") or 0.0),
            index_version=str(data.get("index_version") or ""),
            generated=bool(data.get("generated")),
            checker=str(data.get("checker") or ""),
            quoted=str(data.get("quoted") or ""),
            short_answer=str(short) if short else None,
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _source(data: Any) -> Source:
    published = data.get("published")
    citation = Citation(
        str(data["article_id"]),
        str(data.get("title") or ""),
        str(data.get("source") or ""),
        str(data.get("url") or ""),
        date.fromisoformat(published) if published else None,
    )
    return Source(citation, str(data.get("quote") or ""), float(data.get("score") or 0.0))
