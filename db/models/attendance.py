"""Check-ins, leave and the duty roster."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from db.enums import CheckInKind, CheckInSource, RequestStatus
from db.models.base import TimestampedModel
from db.models.people import Person, Station


class CheckIn(Model):
    """One sign-in or sign-out with the position it was made from."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="checkins", on_delete=fields.CASCADE
    )
    person_id: int
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="checkins", null=True, on_delete=fields.SET_NULL
    )
    station_id: int | None
    kind = fields.CharEnumField(CheckInKind, max_length=8, default=CheckInKind.IN)
    source = fields.CharEnumField(CheckInSource, max_length=16, default=CheckInSource.CHAT)
    at = fields.DatetimeField()
    # The station's calendar day of `at`, so a day's attendance is one indexed lookup.
    local_date = fields.DateField()
    lat = fields.FloatField()
    lon = fields.FloatField()
    accuracy_m = fields.FloatField(null=True)
    distance_m = fields.FloatField(null=True)
    inside_geofence = fields.BooleanField(default=False)
    poor_accuracy = fields.BooleanField(default=False)
    live = fields.BooleanField(default=False)
    # When the live location that made it stops (null: a pin, or shared until stopped).
    live_until = fields.DatetimeField(null=True)
    # The check-in keeps the position and verdict it was made with. While its live location
    # runs, the latest position goes here instead.
    last_lat = fields.FloatField(null=True)
    last_lon = fields.FloatField(null=True)
    last_seen_at = fields.DatetimeField(null=True)
    telegram_message_id = fields.BigIntField(null=True)
    # True on the day's first sign-in only, NULL on every other row (never False): unique with
    # (person, local_date), so the database keeps one first sign-in per person and station day
    # (NULLs never collide, in SQLite as in PostgreSQL).
    first_of_day = fields.BooleanField(null=True)
    # A sign-in from inside the geofence that corrects the day's first one, made outside it
    # shortly before: both are kept, this one counts (at most one correction per first).
    correction_of: fields.OneToOneNullableRelation[CheckIn] = fields.OneToOneField(
        "outpost.CheckIn", related_name="correction", null=True, on_delete=fields.CASCADE
    )
    correction_of_id: int | None

    class Meta:
        table = "checkin"
        indexes = (("person_id", "at"), ("station_id", "local_date"), ("person_id", "local_date"))
        unique_together = (("person", "local_date", "first_of_day"),)


class LeaveRequest(TimestampedModel):
    """Leave asked by a person, decided by the head (a head's own by HQ)."""

    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="leave_requests", on_delete=fields.CASCADE
    )
    person_id: int
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="leave_requests", null=True, on_delete=fields.SET_NULL
    )
    station_id: int | None
    start_date = fields.DateField()
    end_date = fields.DateField()
    reason = fields.TextField(default="")
    status = fields.CharEnumField(RequestStatus, max_length=16, default=RequestStatus.PENDING)
    decided_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="leave_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")

    class Meta:
        table = "leave_request"
        indexes = (("station_id", "status"), ("person_id", "start_date"))


class DutyRoster(Model):
    """Who is on duty at a station on a date: first to hear of off-hours escalations."""

    id = fields.IntField(primary_key=True)
    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="duty_days", on_delete=fields.CASCADE
    )
    station_id: int
    date = fields.DateField()
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="duty_days", on_delete=fields.CASCADE
    )
    person_id: int
    set_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="duty_days_set", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "duty_roster"
        unique_together = (("station", "date"),)
