"""The outing benchmark still runs end to end (tiny size; figures are not judged here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_DATABASE_ENV, on_postgres

ROOT = Path(__file__).resolve().parents[2]


def test_outing_benchmark_runs(tmp_path: Path) -> None:
    """Every overdue step fired once by the sweeps; on PostgreSQL the claim uses its index."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    url = os.environ[TEST_DATABASE_ENV] if on_postgres() else f"sqlite://{tmp_path}/x.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "bench.outings", "--tiny", "--database-url", url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert figures["steps fired"] == "20 (ladders moved: 20)"
    assert float(figures["sweep with nothing due p50 ms (goal < 20)"]) > 0
    if on_postgres():
        assert figures["claim index used"] == "yes"
