"""A question to an answer: understanding it, retrieval, second stages and composition."""

from index.ask._compose import Evidence
from index.ask._matching import article_scores
from index.ask._pipeline import Asker
from index.ask._query import Filters, check_question, question_from_text
from index.ask._retrieval import Tuning
from index.ask._tuning import AnswerTuning

__all__ = ["AnswerTuning", "Asker", "Evidence", "Filters", "Tuning", "article_scores", "check_question", "question_from_text"]
