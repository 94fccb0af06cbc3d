"""The inbox: every Telegram update, stored before Telegram is told it arrived."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.enums import InboxStatus


class InboundUpdate(Model):
    """One update from Telegram, kept until handled (and for a while after, as a record).

    Polling confirms a batch to Telegram only once its rows are committed, and the webhook
    answers 200 only then, so a crash loses nothing. The handling of an update and the change
    of its status to handled are one transaction, so it is handled exactly once.
    """

    id = fields.BigIntField(primary_key=True)
    bot_id = fields.BigIntField()
    update_id = fields.BigIntField()
    # The person whose updates must be handled in order (Telegram user id), if any.
    sender_id = fields.BigIntField(null=True)
    received_at = fields.DatetimeField()
    # The update as Telegram sent it.
    payload: fields.JSONField[Any] = fields.JSONField(null=True)
    status = fields.CharEnumField(InboxStatus, max_length=16, default=InboxStatus.PENDING)
    # Handlings that failed (rolled back); past a limit the update is given up.
    attempts = fields.IntField(default=0)
    # Which process handled it.
    claimed_by = fields.CharField(max_length=64, null=True)
    handled_at = fields.DatetimeField(null=True)
    # Why it was skipped or given up (never the update's content).
    error = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "inbound_update"
        unique_together = (("bot_id", "update_id"),)
        indexes = (("bot_id", "status", "sender_id", "update_id"), ("received_at",))
