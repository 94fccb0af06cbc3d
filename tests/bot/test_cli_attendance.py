"""`outpost export attendance --month YYYY-MM` writes the monthly sheet."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from db.models import Station

ROOT = Path(__file__).resolve().parents[2]


def _outpost(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTPOST_")}
    env.update({"OUTPOST_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_export_attendance_writes_the_workbook(db: str, tmp_path: Path) -> None:
    """The file has the summary and one sheet per station, headers in the asked language."""
    await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    result = _outpost(
        "export",
        "attendance",
        "--month",
        "2026-10",
        "--language",
        "zh-Hans",
        database_url=db,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    book = load_workbook(io.BytesIO((tmp_path / "attendance-2026-10.xlsx").read_bytes()))
    assert book.sheetnames == ["汇总", "LOS"]
    bad = _outpost("export", "attendance", "--month", "October", database_url=db, cwd=tmp_path)
    assert bad.returncode == 2
    assert "--month: not a month: 'October'" in bad.stderr
