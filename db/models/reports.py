"""Daily quality reports and weekly plans."""

from __future__ import annotations

from tortoise import fields

from db.enums import ReportStatus
from db.models.base import TimestampedModel
from db.models.people import Person, Station


class DailyReport(TimestampedModel):
    """The daily quality information (日质量信息) one person files for one local day."""

    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="daily_reports", on_delete=fields.CASCADE
    )
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="daily_reports", null=True, on_delete=fields.SET_NULL
    )
    date = fields.DateField()
    content = fields.TextField()
    # Major quality problems (重大质量信息) go to HQ at once.
    major = fields.BooleanField(default=False)

    class Meta:
        table = "daily_report"
        unique_together = (("person", "date"),)
        indexes = (("station_id", "date"),)


class WeeklyPlan(TimestampedModel):
    """A weekly work plan (周工作计划) or log, reviewed and annotated by the head."""

    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="weekly_plans", on_delete=fields.CASCADE
    )
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "outpost.Station", related_name="weekly_plans", null=True, on_delete=fields.SET_NULL
    )
    week_start = fields.DateField()
    content = fields.TextField()
    status = fields.CharEnumField(ReportStatus, max_length=16, default=ReportStatus.SUBMITTED)
    reviewed_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "outpost.Person", related_name="plans_reviewed", null=True, on_delete=fields.SET_NULL
    )
    reviewed_at = fields.DatetimeField(null=True)
    review_note = fields.TextField(default="")

    class Meta:
        table = "weekly_plan"
        unique_together = (("person", "week_start"),)
        indexes = (("station_id", "status"),)
