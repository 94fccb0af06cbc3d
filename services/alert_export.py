"""An alert's record as XLSX: the alert, per station figures, every recipient, every answer."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from db.models import Alert, AlertAnswer, AlertDelivery
from i18n import translate
from services.errors import NotFound

RECIPIENT_COLUMNS = (
    "name",
    "station",
    "delivered",
    "not_reached",
    "answer",
    "answered",
    "reminded",
)


def _when(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else ""


def _answer(language: str, value: str | None) -> str:
    return translate(language, f"alert.export.answer.{value}") if value else ""


async def alert_workbook(alert_id: int, *, language: str = "en") -> bytes:
    """The record of one alert (NotFound when there is none)."""
    alert = await Alert.get_or_none(id=alert_id)
    if alert is None:
        raise NotFound("no such alert")
    deliveries = (
        await AlertDelivery.filter(alert_id=alert.id)
        .prefetch_related("person__station")
        .order_by("person_id")
    )
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = translate(language, "alert.export.alert")[:31]
    for key, value in (
        ("id", alert.id),
        ("title", alert.title),
        ("body", alert.body),
        ("severity", translate(language, f"alert.severity.{alert.severity}")),
        ("audience", f"{alert.scope} {alert.scope_value or ''}".strip()),
        ("sent", _when(alert.created_at)),
        ("expires", _when(alert.expires_at)),
        ("recipients", len(deliveries)),
    ):
        summary.append([translate(language, f"alert.export.{key}"), value])
    summary.column_dimensions["A"].width = 20
    summary.column_dimensions["B"].width = 60
    people = book.create_sheet(translate(language, "alert.export.recipients")[:31])
    people.append([translate(language, f"alert.export.{name}") for name in RECIPIENT_COLUMNS])
    for delivery in deliveries:
        station = delivery.person.station
        people.append(
            [
                delivery.person.name,
                station.code if station is not None else "",
                _when(delivery.delivered_at),
                _when(delivery.failed_at) if delivery.delivered_at is None else "",
                _answer(language, delivery.answer),
                _when(delivery.acknowledged_at),
                _when(delivery.reminded_at),
            ]
        )
    history = book.create_sheet(translate(language, "alert.export.history")[:31])
    history.append(
        [
            translate(language, "alert.export.name"),
            translate(language, "alert.export.answer"),
            translate(language, "alert.export.answered"),
        ]
    )
    for answer in (
        await AlertAnswer.filter(delivery__alert_id=alert.id)
        .prefetch_related("delivery__person")
        .order_by("answered_at", "id")
    ):
        history.append(
            [
                answer.delivery.person.name,
                _answer(language, answer.answer),
                _when(answer.answered_at),
            ]
        )
    for sheet in (people, history):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 28
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
