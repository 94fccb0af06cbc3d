"""The audit log."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.models.people import Person


class AuditLog(Model):
    """Who did what to which object, and when: the record behind every decision."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=64)
    object_kind = fields.CharField(max_length=32)
    object_id = fields.BigIntField(null=True)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "audit_log"
        indexes = (("object_kind", "object_id"), ("at",))
