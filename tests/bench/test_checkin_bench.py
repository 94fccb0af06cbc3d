"""The check-in benchmark still runs end to end (tiny size; figures are not judged here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_checkin_benchmark_runs(tmp_path: Path) -> None:
    """Every figure is printed, against a sandbox in its own process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.checkin",
            "--tiny",
            "--database-url",
            f"sqlite://{tmp_path}/x.sqlite3",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert {"checkins per second", "ratio", "unloaded p99 ms"} <= names
