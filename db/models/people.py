"""Stations, people, their roles, invites, contacts and holidays."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.enums import ContactKind, Role
from db.fields import WallTimeField
from db.models.base import TimestampedModel


class Station(TimestampedModel):
    """A post abroad: where people check in, with its own time zone and working day."""

    code = fields.CharField(max_length=16, unique=True)
    name = fields.CharField(max_length=200)
    country = fields.CharField(max_length=2, db_index=True)
    city = fields.CharField(max_length=120, default="")
    lat = fields.FloatField()
    lon = fields.FloatField()
    radius_m = fields.IntField(default=300)
    # IANA zone; when empty it is derived from lat/lon (services.localtime).
    timezone = fields.CharField(max_length=64, null=True)
    # ISO weekdays (1 = Monday) on which staff are expected to check in.
    working_days: fields.JSONField[list[int]] = fields.JSONField(default=[1, 2, 3, 4, 5])
    checkin_opens = WallTimeField(null=True)
    checkin_closes = WallTimeField(null=True)
    workday_ends = WallTimeField(null=True)
    require_live_location = fields.BooleanField(default=False)
    notify_head_outside_geofence = fields.BooleanField(default=False)
    # Minutes after a first check-in outside the geofence in which one from inside corrects
    # it (0: no correction).
    checkin_correction_min = fields.IntField(default=30)
    currency = fields.CharField(max_length=3, default="USD")
    # The outing rules that differ from the defaults (services.organisation_models.OutingPolicy).
    outing_policy: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "station"


class Person(TimestampedModel):
    """Someone who uses Outpost through Telegram."""

    telegram_id = fields.BigIntField(unique=True)
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=20, null=True)  # E.164
    email = fields.CharField(max_length=254, null=True)
    language = fields.CharField(max_length=16, default="en")  # BCP 47
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="people", null=True, on_delete=fields.SET_NULL
    )
    station_id: int | None
    active = fields.BooleanField(default=True, db_index=True)
    deactivated_at = fields.DatetimeField(null=True)
    handed_over_to: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="handovers", null=True, on_delete=fields.SET_NULL
    )
    # Set when Telegram answers 403: this person cannot be reached by the bot.
    bot_blocked_at = fields.DatetimeField(null=True)
    # The step an invited person has reached ("phone", "language"), null once registered.
    registration_step = fields.CharField(max_length=16, null=True)
    # Roles and language of the command menu last published for this person's chat.
    menu_key = fields.CharField(max_length=64, null=True)

    roles: fields.ReverseRelation[PersonRole]

    class Meta:
        table = "person"


class PersonRole(Model):
    """One role held by one person (a head's role applies to the person's station)."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="roles", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=16)
    # A deputy head stands in for the head: same rights, asked second.
    deputy = fields.BooleanField(default=False)
    granted_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person_role"
        unique_together = (("person", "role"),)
        indexes = (("role", "person_id"),)


class Invite(Model):
    """A single-use code that registers whoever opens it with a role and station."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    role = fields.CharEnumField(Role, max_length=16)
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="invites", null=True, on_delete=fields.CASCADE
    )
    created_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="invites_made", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="invites_used", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "invite"


class Contact(TimestampedModel):
    """An emergency or escalation contact in a country (embassy, police, hospital...)."""

    country = fields.CharField(max_length=2)
    kind = fields.CharEnumField(ContactKind, max_length=16)
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=32, null=True)
    email = fields.CharField(max_length=254, null=True)
    lat = fields.FloatField(null=True)
    lon = fields.FloatField(null=True)
    notes = fields.TextField(default="")
    # False until the deploying company has checked the details itself.
    verified = fields.BooleanField(default=False)

    class Meta:
        table = "contact"
        unique_together = (("country", "kind", "name"),)
        indexes = (("country", "kind"),)


class Holiday(Model):
    """A public holiday at one station: nobody is expected to check in."""

    id = fields.IntField(primary_key=True)
    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="holidays", on_delete=fields.CASCADE
    )
    date = fields.DateField()
    name = fields.CharField(max_length=200, default="")

    class Meta:
        table = "holiday"
        unique_together = (("station", "date"),)
