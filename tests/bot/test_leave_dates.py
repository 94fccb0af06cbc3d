"""How /leave reads its dates."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.chat.leave import parse_day, parse_leave


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("2026-12-01", date(2026, 3, 5), date(2026, 12, 1)),
        ("12-01", date(2026, 3, 5), date(2026, 12, 1)),
        # Yesterday, without a year: this year's, to explain a missed day.
        ("03-04", date(2026, 3, 5), date(2026, 3, 4)),
        ("3-1", date(2026, 3, 5), date(2026, 3, 1)),
        # Further back than a leave may start: next year's.
        ("01-10", date(2026, 3, 5), date(2027, 1, 10)),
        ("12-30", date(2026, 1, 2), date(2026, 12, 30)),
        ("02-29", date(2028, 3, 20), None),  # next year's 29 February does not exist
        ("02-30", date(2026, 1, 2), None),
        ("tomorrow", date(2026, 1, 2), None),
    ],
)
def test_parse_day(text: str, today: date, expected: date | None) -> None:
    """A date with or without its year; nonsense is None."""
    assert parse_day(text, today) == expected


def test_parse_leave() -> None:
    """START [END] REASON: the end is optional, the reason keeps its words."""
    today = date(2026, 3, 5)
    assert parse_leave(["03-10", "03-12", "family", "visit"], today) == (
        date(2026, 3, 10),
        date(2026, 3, 12),
        "family visit",
    )
    assert parse_leave(["03-10", "sick"], today) == (date(2026, 3, 10), date(2026, 3, 10), "sick")
    assert parse_leave([], today) is None
