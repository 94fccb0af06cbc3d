"""The clock: UTC, aware, and only moved by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.clock import ManualClock, SystemClock, ensure_utc


def test_system_clock_is_utc_and_aware() -> None:
    """The real clock answers in UTC with its zone attached."""
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_manual_clock_moves_only_when_told(clock: ManualClock) -> None:
    """A test sets and advances the clock; nothing else moves it."""
    start = clock.now()
    assert clock.now() == start
    assert clock.advance(minutes=90) == start + timedelta(minutes=90)
    clock.advance(timedelta(days=1))
    assert clock.now() == start + timedelta(days=1, minutes=90)


def test_manual_clock_converts_to_utc() -> None:
    """An instant given in another zone is kept as the same instant in UTC."""
    lagos = timezone(timedelta(hours=1))
    clock = ManualClock(datetime(2026, 5, 1, 8, 0, tzinfo=lagos))
    assert clock.now() == datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


def test_naive_and_backward_times_are_refused(clock: ManualClock) -> None:
    """A naive datetime or a step back is a bug, not a time."""
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="back"):
        clock.advance(seconds=-1)
