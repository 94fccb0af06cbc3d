"""Expenses with their receipt photos, budgets and exchange rates."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from db.enums import ExpenseStatus, RequestStatus
from db.models.base import TimestampedModel
from db.models.people import Person, Station


class Expense(TimestampedModel):
    """One expense claim with its reason (事由), approved by the head."""

    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="expenses", on_delete=fields.CASCADE
    )
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="expenses", null=True, on_delete=fields.SET_NULL
    )
    category = fields.CharField(max_length=32)
    amount = fields.DecimalField(max_digits=14, decimal_places=2)
    currency = fields.CharField(max_length=3)
    # The amount in the company's base currency at the rate of `spent_on`.
    amount_base = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    spent_on = fields.DateField()
    reason = fields.TextField(default="")
    status = fields.CharEnumField(ExpenseStatus, max_length=16, default=ExpenseStatus.DRAFT)
    within_budget = fields.BooleanField(null=True)
    decided_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="expense_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")

    class Meta:
        table = "expense"
        indexes = (("station_id", "status"), ("person_id", "spent_on"))


class ExpensePhoto(Model):
    """A receipt photo kept with its expense (EXIF stripped before storage)."""

    id = fields.IntField(primary_key=True)
    expense: fields.ForeignKeyRelation[Expense] = fields.ForeignKeyField(
        "outpost.Expense", related_name="photos", on_delete=fields.CASCADE
    )
    telegram_file_id = fields.CharField(max_length=255, null=True)
    telegram_file_unique_id = fields.CharField(max_length=64, null=True)
    path = fields.CharField(max_length=500)
    sha256 = fields.CharField(max_length=64)
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "expense_photo"


class Budget(TimestampedModel):
    """A station's declared budget (月初预申报) for one category in one month."""

    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="budgets", on_delete=fields.CASCADE
    )
    month = fields.DateField()  # the first day of the month
    category = fields.CharField(max_length=32)
    amount = fields.DecimalField(max_digits=14, decimal_places=2)
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(RequestStatus, max_length=16, default=RequestStatus.PENDING)
    decided_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="budget_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "budget"
        unique_together = (("station", "month", "category"),)


class ExchangeRate(Model):
    """How many units of the base currency one unit of `currency` bought on a day."""

    id = fields.IntField(primary_key=True)
    currency = fields.CharField(max_length=3)
    base_currency = fields.CharField(max_length=3)
    rate = fields.DecimalField(max_digits=18, decimal_places=8)
    valid_on = fields.DateField()

    class Meta:
        table = "exchange_rate"
        unique_together = (("currency", "base_currency", "valid_on"),)
