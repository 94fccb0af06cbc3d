"""Station-local time: zones from settings or coordinates, days and DST gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.clock import ManualClock
from services.errors import InvalidInput
from services.localtime import (
    at_local,
    day_bounds,
    local_date,
    local_now,
    station_zone,
    zone_at,
)


@dataclass
class Place:
    """A stand-in for a Station."""

    lat: float
    lon: float
    timezone: str | None = None


def test_zone_from_coordinates_offline() -> None:
    """Lagos, Nairobi and Jakarta are found from their coordinates alone."""
    assert zone_at(6.4281, 3.4219).key == "Africa/Lagos"
    assert zone_at(-1.2921, 36.8219).key == "Africa/Nairobi"
    assert zone_at(-6.2088, 106.8456).key == "Asia/Jakarta"


def test_explicit_zone_wins_and_bad_ones_are_refused() -> None:
    """A station's own zone setting is used; an unknown one is an input error."""
    assert station_zone(Place(6.43, 3.42, "Europe/Paris")).key == "Europe/Paris"
    assert station_zone(Place(6.43, 3.42)).key == "Africa/Lagos"
    with pytest.raises(InvalidInput):
        station_zone(Place(0, 0, "Mars/Olympus"))
    with pytest.raises(InvalidInput):
        zone_at(91, 0)


def test_local_day_across_the_date_line() -> None:
    """23:30 UTC is already tomorrow in Jakarta and still today in Lagos."""
    instant = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    assert local_date(instant, ZoneInfo("Asia/Jakarta")) == date(2026, 3, 11)
    assert local_date(instant, ZoneInfo("Africa/Lagos")) == date(2026, 3, 11)
    assert local_date(instant, ZoneInfo("America/Bogota")) == date(2026, 3, 10)
    clock = ManualClock(instant)
    assert local_now(clock, ZoneInfo("Asia/Jakarta")).hour == 6


def test_dst_days_are_23_and_25_hours() -> None:
    """A station in a DST zone has short and long days, and a skipped hour resolves forward."""
    paris = ZoneInfo("Europe/Paris")
    start, end = day_bounds(date(2026, 3, 29), paris)
    assert end - start == timedelta(hours=23)
    start, end = day_bounds(date(2026, 10, 25), paris)
    assert end - start == timedelta(hours=25)
    # 02:30 does not exist on 29 March in Paris: it becomes 03:30 CEST = 01:30 UTC.
    assert at_local(date(2026, 3, 29), time(2, 30), paris) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    # 02:30 happens twice on 25 October: the first one (CEST) is taken.
    assert at_local(date(2026, 10, 25), time(2, 30), paris) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    zone=st.sampled_from(
        ["Africa/Lagos", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]
    ),
)
def test_day_bounds_contain_their_day(day: date, zone: str) -> None:
    """Every instant in [start, end) is on `day` locally, and days tile without gaps."""
    tz = ZoneInfo(zone)
    start, end = day_bounds(day, tz)
    assert local_date(start, tz) == day
    assert local_date(end - timedelta(microseconds=1), tz) == day
    assert day_bounds(day + timedelta(days=1), tz)[0] == end
