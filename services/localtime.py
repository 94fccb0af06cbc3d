"""Station-local time: stored UTC, shown and scheduled in the station's own zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.clock import Clock, ensure_utc
from services.errors import InvalidInput


class Located(Protocol):
    """Anything with coordinates and an optional explicit zone (a Station)."""

    lat: float
    lon: float
    timezone: str | None


@cache
def _finder() -> object:
    # Loading the boundary data takes a moment and ~100 MB: do it once, on first use. In memory,
    # so no file handle stays open for the life of the process.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=True)


def zone_at(lat: float, lon: float) -> ZoneInfo:
    """The IANA zone at a point, offline; UTC at sea or where no zone is known."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("coordinates out of range", msgid="error.bad_coordinates")
    name = _finder().timezone_at(lng=lon, lat=lat)  # type: ignore[attr-defined]
    return zone_named(name) if name else ZoneInfo("UTC")


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or InvalidInput."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}", msgid="error.bad_timezone", zone=name
        ) from None


def station_zone(station: Located) -> ZoneInfo:
    """The station's zone: its own setting, else derived from its coordinates."""
    if station.timezone:
        return zone_named(station.timezone)
    return zone_at(station.lat, station.lon)


def local_now(clock: Clock, zone: ZoneInfo) -> datetime:
    """Now, on the station's wall clock."""
    return clock.now().astimezone(zone)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The station's calendar day at `instant`."""
    return ensure_utc(instant).astimezone(zone).date()


def at_local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant when the station's wall clock shows `wall` on `day`.

    A wall time skipped by a DST jump resolves to the moment just after the jump; an ambiguous
    one (clocks going back) to its first occurrence.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None))
    # PEP 495: fold=0 reads a skipped time with the offset before the jump, which lands just
    # after it, and an ambiguous time as its first occurrence.
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the station's calendar day, in UTC (23 or 25 hours across DST)."""
    return at_local(day, time(0), zone), at_local(day + timedelta(days=1), time(0), zone)
