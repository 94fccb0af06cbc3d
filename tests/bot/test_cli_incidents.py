"""`outpost export incidents --month YYYY-MM` writes the month's incidents and timelines."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from db.enums import IncidentKind, IncidentStatus
from db.models import Incident, IncidentEvent, Person, Station

from .test_cli_attendance import _outpost


async def _incidents() -> None:
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    amina = await Person.create(telegram_id=1, name="Amina", station=station)
    musa = await Person.create(telegram_id=2, name="Musa", station=station)
    opened = datetime(2026, 10, 3, 8, 0, tzinfo=UTC)
    incident = await Incident.create(
        kind=IncidentKind.SOS,
        status=IncidentStatus.CLOSED,
        reported_by=amina,
        station=station,
        opened_at=opened,
        nature="medical",
        acknowledged_by=musa,
        acknowledged_at=datetime(2026, 10, 3, 8, 2, tzinfo=UTC),
        closing_note="treated",
        closed_at=datetime(2026, 10, 3, 11, 0, tzinfo=UTC),
    )
    await IncidentEvent.create(incident=incident, at=opened, actor=amina, kind="opened")
    await IncidentEvent.create(
        incident=incident, at=opened, actor=musa, kind="message", text="Coming"
    )
    # Another month: left out.
    await Incident.create(
        kind=IncidentKind.SOS, reported_by=musa, opened_at=datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    )


async def test_export_incidents_writes_the_workbook_and_csv(db: str, tmp_path: Path) -> None:
    """One row per incident of the month, the timeline on its own sheet; CSV for a .csv name."""
    await _incidents()
    result = _outpost("export", "incidents", "--month", "2026-10", database_url=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    book = load_workbook(io.BytesIO((tmp_path / "incidents-2026-10.xlsx").read_bytes()))
    assert book.sheetnames == ["Incidents", "Timeline"]
    rows = list(book["Incidents"].iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][1:5] == ("2026-10-03 08:00:00", "sos", "medical", "Amina")
    assert rows[1][7] == "Musa"
    assert rows[1][-1] == "treated"
    timeline = list(book["Timeline"].iter_rows(values_only=True))
    assert [row[2:5] for row in timeline[1:]] == [
        ("opened", "Amina", None),
        ("message", "Musa", "Coming"),
    ]
    csv_result = _outpost(
        "export",
        "incidents",
        "--month",
        "2026-10",
        "--language",
        "zh-Hans",
        "--output",
        "x.csv",
        database_url=db,
        cwd=tmp_path,
    )
    assert csv_result.returncode == 0, csv_result.stderr
    text = (tmp_path / "x.csv").read_text(encoding="utf-8").splitlines()
    assert text[0] == "事件,时间（UTC）,事项,人员,消息,详情"
    assert text[2].endswith(",message,Musa,Coming,")
    bad = _outpost("export", "incidents", "--month", "Oct", database_url=db, cwd=tmp_path)
    assert bad.returncode == 2
