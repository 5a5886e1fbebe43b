"""Reports over the index: the period's news digest (stories folded across outlets, each one quoted
sentence) and the gap report's grouping of questions the bot could not answer well."""

from index.digest._cluster import greedy_groups, unit
from index.digest._gaps import QUESTION_THRESHOLD
from index.digest._service import Digester
from index.digest._stories import MAX_DAYS, MAX_STORIES, STORY_DAYS, STORY_THRESHOLD, article_vector
from index.digest._types import Digest, QuestionGroup, Story

__all__ = [
    "MAX_DAYS",
    "MAX_STORIES",
    "QUESTION_THRESHOLD",
    "STORY_DAYS",
    "STORY_THRESHOLD",
    "Digest",
    "Digester",
    "QuestionGroup",
    "Story",
    "article_vector",
    "greedy_groups",
    "unit",
]
