"""Deadlines: what must happen at a given instant, claimed and acted on by exactly one process."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.enums import DeadlineStatus


class Deadline(Model):
    """One due moment of one thing (a station's next event, the monthly sheet).

    A kind and a key name the thing, so scheduling it again moves its one pending row.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    key = fields.CharField(max_length=128)
    due_at = fields.DatetimeField()
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    status = fields.CharEnumField(DeadlineStatus, max_length=16, default=DeadlineStatus.PENDING)
    attempts = fields.IntField(default=0)
    claimed_by = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "deadline"
        unique_together = (("kind", "key"),)
        # The claim reads pending rows by due time and claimed rows by lease expiry.
        indexes = (("status", "due_at"), ("status", "lease_until"))
