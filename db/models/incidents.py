"""Incidents (SOS, accidents, security events) and their timelines."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.enums import IncidentKind, IncidentStatus, Severity
from db.models.base import TimestampedModel
from db.models.people import Person, Station


class Incident(TimestampedModel):
    """Something that put people at risk, from first alarm to closing report."""

    kind = fields.CharEnumField(IncidentKind, max_length=16)
    severity = fields.CharEnumField(Severity, max_length=16, default=Severity.CRITICAL)
    status = fields.CharEnumField(IncidentStatus, max_length=16, default=IncidentStatus.OPEN)
    reported_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="incidents_reported", null=True, on_delete=fields.SET_NULL
    )
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="incidents", null=True, on_delete=fields.SET_NULL
    )
    country = fields.CharField(max_length=2, null=True)
    summary = fields.TextField(default="")
    # What the person said happened after an SOS (medical, security, accident, detained, other).
    nature = fields.CharField(max_length=16, null=True)
    lat = fields.FloatField(null=True)
    lon = fields.FloatField(null=True)
    opened_at = fields.DatetimeField()
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person",
        related_name="incidents_acknowledged",
        null=True,
        on_delete=fields.SET_NULL,
    )
    next_escalation_at = fields.DatetimeField(null=True)
    escalation_level = fields.IntField(default=0)
    # Set once: the embassy must be told once, never twice.
    embassy_notified_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    closed_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="incidents_closed", null=True, on_delete=fields.SET_NULL
    )
    closing_note = fields.TextField(default="")
    # An SOS pressed twice (or retried by Telegram) opens one incident.
    idempotency_key = fields.CharField(max_length=128, unique=True, null=True)
    outing_id = fields.IntField(null=True)
    # True while an SOS is not closed, NULL on any other incident (never False): unique with
    # the reporter, so the database keeps one open SOS per person.
    open_sos_marker = fields.BooleanField(null=True)

    class Meta:
        table = "incident"
        unique_together = (("reported_by", "open_sos_marker"),)
        indexes = (("status", "next_escalation_at"), ("station_id", "status"))


class IncidentEvent(Model):
    """One line of an incident's timeline: what happened, when, and who did it."""

    id = fields.IntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "outpost.Incident", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="incident_events", null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharField(max_length=32)
    text = fields.TextField(default="")
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "incident_event"
        indexes = (("incident_id", "at"),)
