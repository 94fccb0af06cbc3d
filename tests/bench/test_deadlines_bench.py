"""The deadline benchmark still runs end to end (tiny size; figures are not judged here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_DATABASE_ENV, on_postgres

ROOT = Path(__file__).resolve().parents[2]


def test_deadline_benchmark_runs(tmp_path: Path) -> None:
    """Lag figures on this run's database; the claim query and its plan on PostgreSQL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    url = os.environ[TEST_DATABASE_ENV] if on_postgres() else f"sqlite://{tmp_path}/x.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "bench.deadlines", "--tiny", "--database-url", url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert float(figures["lag p99 ms (goal < 1000)"]) >= 0
    assert float(figures["fired per second"]) > 0
    if on_postgres():
        assert figures["claim index used"] == "yes"
        assert float(figures["claim query round trip p99 ms (goal < 20)"]) > 0
