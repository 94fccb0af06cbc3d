"""One clock for the whole program: UTC, timezone-aware, movable in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: tests set it and move it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start) if start is not None else datetime(2026, 1, 5, 9, tzinfo=UTC)

    def now(self) -> datetime:
        """The instant this clock was set to."""
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to `instant` (naive values are refused)."""
        self._now = ensure_utc(instant)

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move forward by `delta` or by timedelta keywords; returns the new now."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock does not go back")
        self._now += step
        return self._now


def ensure_utc(instant: datetime) -> datetime:
    """`instant` in UTC; a naive datetime is a bug, so it is refused."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime: every time in Outpost carries its time zone")
    return instant.astimezone(UTC)
