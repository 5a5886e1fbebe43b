"""The digest's pure parts: greedy grouping (threshold, the days rule, order), the period, and the
weekly schedule's due times."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from bot.features.digest.schedule import Schedule
from index.digest import greedy_groups, unit
from index.digest._stories import period


def test_greedy_groups_join_close_vectors_only_within_the_days_allowed() -> None:
    vectors = unit(np.array([[1.0, 0.0], [0.95, 0.05], [0.0, 1.0], [0.96, 0.04]], dtype=np.float32))
    assert greedy_groups(vectors, 0.9) == [[0, 1, 3], [2]]
    # the fourth is published 10 days after the story's latest article: news of its own
    assert greedy_groups(vectors, 0.9, days=[0, 1, 0, 11], max_gap=2) == [[0, 1], [2], [3]]
    assert greedy_groups(vectors, 0.9, order=[2, 3, 1, 0]) == [[2], [3, 1, 0]]
    assert greedy_groups(np.zeros((0, 2), dtype=np.float32), 0.9) == []


def test_the_period_ends_today_and_is_bounded() -> None:
    assert period(7, date(2021, 5, 20)) == (date(2021, 5, 14), date(2021, 5, 20))
    with pytest.raises(ValueError, match="between 1 and 31"):
        period(0, date(2021, 5, 20))


def test_a_schedule_is_due_at_its_last_weekday_and_hour_in_utc() -> None:
    friday_nine = Schedule(1, 4, 9)
    assert friday_nine.last_due(datetime(2021, 5, 21, 9, 0, tzinfo=UTC)) == datetime(2021, 5, 21, 9, 0, tzinfo=UTC)
    assert friday_nine.last_due(datetime(2021, 5, 21, 8, 59, tzinfo=UTC)) == datetime(2021, 5, 14, 9, 0, tzinfo=UTC)
    assert friday_nine.last_due(datetime(2021, 5, 24, 0, 0, tzinfo=UTC)) == datetime(2021, 5, 21, 9, 0, tzinfo=UTC)
    assert Schedule.from_setting(friday_nine.to_setting()) == friday_nine
    assert Schedule.from_setting("{bad") is None and Schedule.from_setting('{"channel": 1, "weekday": 9, "hour": 1}') is None
