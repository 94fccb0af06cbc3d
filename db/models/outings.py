"""Outings: asked, approved, out, back — or overdue."""

from __future__ import annotations

from tortoise import fields

from db.enums import OutingStatus
from db.models.base import TimestampedModel
from db.models.people import Person, Station


class Outing(TimestampedModel):
    """A trip outside the station, approved by the head, with a promised return time."""

    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="outings", on_delete=fields.CASCADE
    )
    person_id: int
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="outings", null=True, on_delete=fields.SET_NULL
    )
    station_id: int | None
    destination = fields.CharField(max_length=300)
    purpose = fields.TextField(default="")
    companions = fields.TextField(default="")
    contact_phone = fields.CharField(max_length=32, null=True)
    status = fields.CharEnumField(OutingStatus, max_length=16, default=OutingStatus.PENDING)
    leaves_at = fields.DatetimeField(null=True)
    expected_return_at = fields.DatetimeField()
    returned_at = fields.DatetimeField(null=True)
    is_night = fields.BooleanField(default=False)
    is_high_risk = fields.BooleanField(default=False)
    dest_lat = fields.FloatField(null=True)
    dest_lon = fields.FloatField(null=True)
    # A night outing is approved twice: by the head (first), then by safety or HQ.
    first_approved_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person",
        related_name="outing_first_approvals",
        null=True,
        on_delete=fields.SET_NULL,
    )
    first_approved_by_id: int | None
    decided_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="outing_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")
    late_reports = fields.IntField(default=0)
    # The scheduler claims outings whose next escalation is due; null when none is pending.
    next_escalation_at = fields.DatetimeField(null=True)
    escalation_level = fields.IntField(default=0)
    last_lat = fields.FloatField(null=True)
    last_lon = fields.FloatField(null=True)
    last_seen_at = fields.DatetimeField(null=True)
    # True while the outing is open (pending, approved or out), NULL once it is over (never
    # False): unique with the person, so the database keeps one open outing per person.
    open_marker = fields.BooleanField(null=True)

    class Meta:
        table = "outing"
        unique_together = (("person", "open_marker"),)
        indexes = (
            ("status", "expected_return_at"),
            ("next_escalation_at",),
            ("station_id", "status"),
            ("person_id", "status"),
        )
