"""Conversations: the multi-step flow each person is in, kept in the database."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.models.people import Person


class Conversation(Model):
    """The one flow a Telegram account is in (leave request, registration), step by step.

    Keyed by the Telegram id, so a person who is still registering has one too. The row is the
    whole state: a restart or a second process goes on from it. `version` grows with every
    answer taken, so two processes handling presses at once save only one of them, and a button
    of an earlier question is recognised as old.
    """

    id = fields.IntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True)
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="conversations", null=True, on_delete=fields.CASCADE
    )
    person_id: int | None
    flow = fields.CharField(max_length=32)
    step = fields.CharField(max_length=32)
    answers: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    started_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # Null: the flow waits as long as it takes (registration).
    expires_at = fields.DatetimeField(null=True, db_index=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "conversation"
