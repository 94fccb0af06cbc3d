"""The migration that brought the invariant markers marks rows that existed before it."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any

from tortoise import connections

import db.migrations
from db.enums import CheckInKind, IncidentKind, IncidentStatus, OutingStatus
from db.models import CheckIn, Incident, Outing
from tests.auxil.factories import LAGOS, make_person, make_station

T0 = datetime(2026, 1, 5, 7, 45, tzinfo=UTC)


def _marking_migration() -> ModuleType:
    """The migration holding the marking statements, whatever its number."""
    for info in pkgutil.iter_modules(db.migrations.__path__):
        module = importlib.import_module(f"db.migrations.{info.name}")
        if hasattr(module, "MARK_FIRST_CHECKINS"):
            return module
    raise AssertionError("no migration marks the first check-ins")


async def test_existing_rows_are_marked_once_per_person(db: str) -> None:
    """Duplicates made before the constraints: the earliest sign-in of a day, the latest
    open outing and the latest open SOS get the marker; nothing else does."""
    station = await make_station()
    ada, ben = await make_person(1, station), await make_person(2, station)
    where: dict[str, Any] = {"station_id": station.id, "lat": LAGOS[0], "lon": LAGOS[1]}
    day = date(2026, 1, 5)
    later = await CheckIn.create(person=ada, at=T0 + timedelta(minutes=1), local_date=day, **where)
    earliest = await CheckIn.create(person=ada, at=T0, local_date=day, **where)
    out = await CheckIn.create(
        person=ada, at=T0 + timedelta(hours=9), local_date=day, kind=CheckInKind.OUT, **where
    )
    bens = await CheckIn.create(person=ben, at=T0 + timedelta(minutes=5), local_date=day, **where)
    trip: dict[str, Any] = {
        "station_id": station.id,
        "expected_return_at": T0,
        "destination": "Port",
    }
    old_open = await Outing.create(person=ada, status=OutingStatus.OUT, **trip)
    new_open = await Outing.create(person=ada, status=OutingStatus.PENDING, **trip)
    back = await Outing.create(person=ben, status=OutingStatus.RETURNED, **trip)
    sos: dict[str, Any] = {"kind": IncidentKind.SOS, "opened_at": T0}
    old_sos = await Incident.create(reported_by=ada, **sos)
    new_sos = await Incident.create(reported_by=ada, status=IncidentStatus.ESCALATED, **sos)
    closed = await Incident.create(reported_by=ben, status=IncidentStatus.CLOSED, **sos)
    crime = await Incident.create(reported_by=ben, kind=IncidentKind.CRIME, opened_at=T0)

    migration = _marking_migration()
    connection = connections.get("default")
    for statement in (
        migration.MARK_FIRST_CHECKINS,
        migration.MARK_OPEN_OUTINGS,
        migration.MARK_OPEN_SOS,
    ):
        await connection.execute_script(statement)

    marked = set(await CheckIn.filter(first_of_day=True).values_list("id", flat=True))
    assert marked == {earliest.id, bens.id}
    assert later.id not in marked
    assert out.id not in marked
    open_outings = set(await Outing.filter(open_marker=True).values_list("id", flat=True))
    assert open_outings == {new_open.id}
    assert old_open.id != new_open.id
    assert back.id not in open_outings
    open_sos = set(await Incident.filter(open_sos_marker=True).values_list("id", flat=True))
    assert open_sos == {new_sos.id}
    assert {old_sos.id, closed.id, crime.id}.isdisjoint(open_sos)
