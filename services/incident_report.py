# ruff: noqa: B009 - Tortoise's *_id attributes are not in the model types
"""A month of incidents and their timelines as an XLSX workbook or a CSV file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from db.models import Incident, IncidentEvent, Person, Station
from i18n import translate

# Event data kept out of the "details" column (ids of rows, not something a reader needs).
_HIDDEN = frozenset({"message"})


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime.combine(month.replace(day=1), time(), tzinfo=UTC)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime.combine(following, time(), tzinfo=UTC)


def _stamp(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


async def incident_rows(month: date, language: str) -> tuple[list[list[Any]], list[list[Any]]]:
    """(incidents, timeline) rows with their header first, for incidents opened in `month`."""
    start, end = _month_bounds(month)
    incidents = await Incident.filter(opened_at__gte=start, opened_at__lt=end).order_by(
        "opened_at", "id"
    )
    ids = [incident.id for incident in incidents]
    events = await IncidentEvent.filter(incident_id__in=ids).order_by("incident_id", "at", "id")
    person_ids = {
        value
        for incident in incidents
        for value in (
            getattr(incident, "reported_by_id"),
            getattr(incident, "acknowledged_by_id"),
            getattr(incident, "closed_by_id"),
        )
        if value is not None
    } | {getattr(e, "actor_id") for e in events if getattr(e, "actor_id") is not None}
    names = {p.id: p.name for p in await Person.filter(id__in=list(person_ids))}
    stations = {s.id: s.code for s in await Station.all()}

    def name(person_id: int | None) -> str:
        return names.get(person_id, "") if person_id is not None else ""

    def head(key: str) -> str:
        return translate(language, f"incidents.export.{key}")

    summary: list[list[Any]] = [
        [
            head(key)
            for key in (
                "id",
                "opened",
                "kind",
                "nature",
                "person",
                "station",
                "status",
                "taken_by",
                "taken",
                "embassy",
                "closed",
                "outcome",
            )
        ]
    ]
    for incident in incidents:
        summary.append(
            [
                incident.id,
                _stamp(incident.opened_at),
                incident.kind,
                incident.nature or "",
                name(getattr(incident, "reported_by_id")),
                stations.get(getattr(incident, "station_id") or 0, ""),
                incident.status,
                name(getattr(incident, "acknowledged_by_id")),
                _stamp(incident.acknowledged_at),
                _stamp(incident.embassy_notified_at),
                _stamp(incident.closed_at),
                incident.closing_note,
            ]
        )
    timeline: list[list[Any]] = [
        [
            head(key)
            for key in (
                "id",
                "at",
                "event",
                "who",
                "text",
                "details",
            )
        ]
    ]
    for item in events:
        details = ", ".join(
            f"{key}={value}"
            for key, value in sorted((item.data or {}).items())
            if key not in _HIDDEN and value is not None
        )
        timeline.append(
            [
                getattr(item, "incident_id"),
                _stamp(item.at),
                item.kind,
                name(getattr(item, "actor_id")),
                item.text,
                details,
            ]
        )
    return summary, timeline


async def incidents_workbook(month: date, *, language: str) -> bytes:
    """The month's incidents (one sheet) and their timelines (another) as XLSX bytes."""
    summary, timeline = await incident_rows(month, language)
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = translate(language, "incidents.export.sheet")
    second = book.create_sheet(translate(language, "incidents.export.timeline"))
    for sheet, rows in ((first, summary), (second, timeline)):
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def incidents_csv(month: date, *, language: str) -> str:
    """The month's timeline as CSV: each event with its incident's person and kind."""
    _summary, timeline = await incident_rows(month, language)
    out = io.StringIO()
    csv.writer(out).writerows(timeline)
    return out.getvalue()


def report_file_name(month: date, *, as_csv: bool = False) -> str:
    """incidents-2026-11.xlsx (or .csv)."""
    return f"incidents-{month:%Y-%m}.{'csv' if as_csv else 'xlsx'}"
