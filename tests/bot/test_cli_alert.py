"""`outpost export alert ID` writes an alert's record: recipients, who was not reached, answers."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from db.enums import AlertReply, AlertScope
from db.models import Alert, AlertAnswer, AlertDelivery, Person, Station
from tests.bot.test_cli_attendance import _outpost

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_export_alert_writes_the_record(db: str, tmp_path: Path) -> None:
    """One row per recipient with its delivery and answer, and every answer pressed."""
    station = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4)
    amina = await Person.create(telegram_id=1, name="Amina", station=station)
    dan = await Person.create(telegram_id=2, name="Dan", station=station)
    alert = await Alert.create(
        scope=AlertScope.STATION,
        scope_value="LOS",
        title="Unrest",
        body="Stay in.",
        recipient_count=2,
    )
    reached = await AlertDelivery.create(
        alert=alert, person=amina, delivered_at=T0, answer=AlertReply.HELP, acknowledged_at=T0
    )
    await AlertDelivery.create(alert=alert, person=dan, failed_at=T0)
    await AlertAnswer.create(delivery=reached, answer=AlertReply.SAFE, answered_at=T0)
    await AlertAnswer.create(delivery=reached, answer=AlertReply.HELP, answered_at=T0)

    result = _outpost("export", "alert", str(alert.id), database_url=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    book = load_workbook(io.BytesIO((tmp_path / f"alert-{alert.id}.xlsx").read_bytes()))
    assert book.sheetnames == ["Alert", "Recipients", "Answers"]
    rows = [[cell or "" for cell in row] for row in book["Recipients"].iter_rows(values_only=True)]
    assert rows[1][:5] == ["Amina", "LOS", T0.isoformat(), "", "Needs help"]
    assert rows[2][:5] == ["Dan", "LOS", "", T0.isoformat(), ""]
    answers = [row[1] for row in book["Answers"].iter_rows(min_row=2, values_only=True)]
    assert answers == ["Safe", "Needs help"]

    missing = _outpost("export", "alert", "999", database_url=db, cwd=tmp_path)
    assert missing.returncode == 2
    assert "no alert 999" in missing.stderr
