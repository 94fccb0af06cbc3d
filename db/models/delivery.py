"""The outbox: every message to a third party, durable until delivered."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.enums import Channel, DeliveryStatus, Lane
from db.models.people import Person


class OutboxAttachment(Model):
    """A file sent with an outbox message (a monthly sheet), kept with it in the database."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    file_name = fields.CharField(max_length=200)
    mime_type = fields.CharField(max_length=100)
    data = fields.BinaryField()

    class Meta:
        table = "outbox_attachment"


class OutboxMessage(Model):
    """A message waiting for, or past, delivery, rendered in the language of its recipient."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    lane = fields.IntEnumField(Lane)
    channel = fields.CharEnumField(Channel, max_length=16, default=Channel.TELEGRAM)
    recipient: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="outbox_messages", null=True, on_delete=fields.SET_NULL
    )
    # Telegram chat, e-mail address or phone number, resolved when the row is written.
    address = fields.CharField(max_length=254)
    language = fields.CharField(max_length=16, default="en")
    msgid = fields.CharField(max_length=200)
    params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    buttons: fields.JSONField[Any] = fields.JSONField(null=True)
    # A reply written while handling an update: its text as rendered then (used instead of
    # msgid and params), Telegram's reply_markup as is (a reply keyboard, say) and parse mode.
    text = fields.TextField(null=True)
    reply_markup: fields.JSONField[Any] = fields.JSONField(null=True)
    parse_mode = fields.CharField(max_length=16, null=True)
    # What to do to the message: send, or edit one sent before.
    action = fields.CharField(max_length=32, default="send")
    # An edit: the outbox row whose sent message it changes.
    edit_of_id = fields.BigIntField(null=True)
    # A message sent on the next channel because this earlier row failed for good.
    fallback_of_id = fields.BigIntField(null=True)
    # A document sent with the text as its caption.
    attachment: fields.ForeignKeyNullableRelation[OutboxAttachment] = fields.ForeignKeyField(
        "outpost.OutboxAttachment",
        related_name="messages",
        null=True,
        on_delete=fields.SET_NULL,
    )
    attachment_id: int | None
    idempotency_key = fields.CharField(max_length=200, unique=True)
    # Which business object caused it, so its sender can ask who was not reached.
    source_kind = fields.CharField(max_length=32, null=True)
    source_id = fields.BigIntField(null=True)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    sent_at = fields.DatetimeField(null=True)
    external_id = fields.CharField(max_length=64, null=True)  # e.g. Telegram message_id
    last_error = fields.TextField(null=True)
    error_code = fields.IntField(null=True)

    attempt_log: fields.ReverseRelation[DeliveryAttempt]

    class Meta:
        table = "outbox_message"
        indexes = (
            ("status", "lane", "next_attempt_at"),
            ("source_kind", "source_id"),
            ("lease_until",),
        )


class DeliveryAttempt(Model):
    """One try at delivering an outbox message, kept as evidence."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[OutboxMessage] = fields.ForeignKeyField(
        "outpost.OutboxMessage", related_name="attempt_log", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    outcome = fields.CharField(max_length=16)  # sent | retry | failed
    http_status = fields.IntField(null=True)
    retry_after_s = fields.FloatField(null=True)
    error = fields.TextField(null=True)
    duration_ms = fields.FloatField(null=True)

    class Meta:
        table = "delivery_attempt"
