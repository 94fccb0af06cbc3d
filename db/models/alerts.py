"""Security warnings broadcast by HQ and who answered "I am safe"."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from db.enums import AlertReply, AlertScope, Severity
from db.models.people import Person, Station


class Alert(Model):
    """A security warning to a country, a station, an area or everyone."""

    id = fields.IntField(primary_key=True)
    created_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="alerts_sent", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    scope = fields.CharEnumField(AlertScope, max_length=16)
    # A country code or a station code, by scope (several: comma-separated).
    scope_value = fields.CharField(max_length=200, null=True)
    area_lat = fields.FloatField(null=True)
    area_lon = fields.FloatField(null=True)
    area_radius_m = fields.IntField(null=True)
    severity = fields.CharEnumField(Severity, max_length=16, default=Severity.WARNING)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    requires_ack = fields.BooleanField(default=True)
    expires_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # Title and text per language tag, {"en": {"title": ..., "body": ...}}, title/body above
    # being the first language given.
    texts: fields.JSONField[dict[str, dict[str, str]]] = fields.JSONField(default=dict)
    # Minutes after sending: a reminder to the silent, then their heads get the list.
    remind_after_min = fields.IntField(default=30)
    heads_after_min = fields.IntField(default=60)
    # The outbox message of the sender's status card, edited as delivery goes on.
    status_message_id = fields.IntField(null=True)
    recipient_count = fields.IntField(default=0)

    class Meta:
        table = "alert"


class AlertDelivery(Model):
    """One recipient of an alert: whether it reached them and whether they answered."""

    id = fields.IntField(primary_key=True)
    alert: fields.ForeignKeyRelation[Alert] = fields.ForeignKeyField(
        "outpost.Alert", related_name="deliveries", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="alert_deliveries", on_delete=fields.CASCADE
    )
    outbox_message_id = fields.IntField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    acknowledged_at = fields.DatetimeField(null=True)
    needs_help = fields.BooleanField(default=False)
    reminded_at = fields.DatetimeField(null=True)
    answer = fields.CharEnumField(AlertReply, max_length=8, null=True)
    # Set when the message could not reach the person (bot blocked, failed for good).
    failed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "alert_delivery"
        unique_together = (("alert", "person"),)
        indexes = (("alert_id", "acknowledged_at"),)


class AlertAnswer(Model):
    """One press of an answer button: the history kept when a recipient changes their answer."""

    id = fields.IntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[AlertDelivery] = fields.ForeignKeyField(
        "outpost.AlertDelivery", related_name="answers", on_delete=fields.CASCADE
    )
    answer = fields.CharEnumField(AlertReply, max_length=8)
    answered_at = fields.DatetimeField()

    class Meta:
        table = "alert_answer"


class SecurityReport(Model):
    """A field security report: what someone saw, with an optional photo and place."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="security_reports", on_delete=fields.CASCADE
    )
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station",
        related_name="security_reports",
        null=True,
        on_delete=fields.SET_NULL,
    )
    created_at = fields.DatetimeField()
    text = fields.TextField()
    # Telegram's file id of the photo, kept to show it to the officers who ask.
    photo_file_id = fields.CharField(max_length=200, null=True)
    lat = fields.FloatField(null=True)
    lon = fields.FloatField(null=True)
    alert: fields.ForeignKeyNullableRelation[Alert] = fields.ForeignKeyField(
        "outpost.Alert", related_name="reports", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "security_report"
