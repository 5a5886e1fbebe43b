"""The digest and gap-report service of the engine (``engine.digest``): the bot and the command
line share it, so ``/digest`` and ``policybot digest`` list the same stories."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from index.digest._gaps import group_questions
from index.digest._stories import MAX_STORIES, make_digest, period
from index.digest._types import Digest, QuestionGroup
from index.errors import IndexMissingError
from index.models import Encoder
from index.settings import Settings
from index.store import Snapshot


class Digester:
    """Thread-safe (it only reads the live snapshot and encodes questions)."""

    def __init__(self, settings: Settings, snapshot: Callable[[], Snapshot], encoder: Callable[[], Encoder]) -> None:
        self.settings = settings
        self._snapshot = snapshot
        self._encoder = encoder

    def stories(self, days: int = 7, *, today: date | None = None, limit: int = MAX_STORIES) -> Digest:
        """The stories of the last ``days`` days up to ``today`` (default ``POLICYBOT_TODAY`` or the
        real date), by article date; ValueError for a period out of range."""
        since, until = period(days, today or self.settings.reference_date())
        return make_digest(self._snapshot(), self.settings.corpus_dir, since, until, limit=limit)

    def group_questions(self, questions: Sequence[str]) -> list[QuestionGroup]:
        """``questions`` grouped by meaning, largest group first, each with its nearest article."""
        try:
            snap: Snapshot | None = self._snapshot()
        except IndexMissingError:
            snap = None
        return group_questions(snap, self._encoder(), questions)
