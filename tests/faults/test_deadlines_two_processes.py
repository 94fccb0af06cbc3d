"""Two engines on one database fire 1,000 deadlines, each exactly once."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.deadlines import DeadlineEngine
from db.enums import DeadlineStatus
from db.models import AuditLog, Deadline
from services.clock import Clock, SystemClock
from services.deadlines import DeadlineHandlers, RetryPolicy
from tests.conftest import on_postgres
from tests.faults.deadline_worker import KIND, record

ROOT = Path(__file__).resolve().parents[2]
COUNT = 1000


async def _thousand_due(clock: Clock) -> None:
    now = clock.now()
    await Deadline.bulk_create(
        [
            Deadline(kind=KIND, key=str(n), due_at=now - timedelta(seconds=n % 7))
            for n in range(COUNT)
        ],
        batch_size=500,
    )


def _logs(folder: Path) -> str:
    return "".join(path.read_text() for path in sorted(folder.glob("*.log")))


async def _assert_each_fired_once() -> set[int]:
    """Every row done, one firing recorded per row; returns the pids that fired."""
    firings = await AuditLog.filter(action="deadline.fired").values_list("object_id", "data")
    ids = [object_id for object_id, _ in firings]
    assert len(ids) == COUNT
    assert len(set(ids)) == COUNT
    assert await Deadline.filter(kind=KIND, status=DeadlineStatus.DONE).count() == COUNT
    return {data["pid"] for _, data in firings}


@pytest.mark.skipif(
    not on_postgres(),
    reason="SQLite has one writer: Outpost runs as one process on it (two engines sharing one "
    "connection are tested below)",
)
async def test_two_processes_on_postgresql(db: str, tmp_path: Path) -> None:
    """Two OS processes, a 0.2 s lease that slow firings outlive: 1,000 firings, none twice."""
    clock = SystemClock()
    await _thousand_due(clock)
    processes = []
    for name in ("one", "two"):
        log = (tmp_path / f"{name}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.faults.deadline_worker",
            db,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        log.close()
        processes.append(process)
    try:
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line.strip() == b"ready", _logs(tmp_path)
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        codes = [await asyncio.wait_for(process.wait(), 50) for process in processes]
        assert codes == [0, 0], _logs(tmp_path)
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    pids = await _assert_each_fired_once()
    assert len(pids) == 2  # both took part


async def test_two_engines_in_one_process(db: str) -> None:
    """Two engines with their own claims racing in one process (SQLite and PostgreSQL)."""
    clock = SystemClock()
    await _thousand_due(clock)

    def engine() -> DeadlineEngine:
        handlers = DeadlineHandlers()
        handlers.register(KIND, record)
        return DeadlineEngine(
            handlers,
            clock=clock,
            lease=timedelta(seconds=30),
            batch=50,
            concurrency=4,
            retry=RetryPolicy(max_attempts=1),
        )

    first, second = engine(), engine()
    fired = await asyncio.gather(first.run_due(), second.run_due())
    assert sum(1 for batch in fired for f in batch if f.outcome == "done") == COUNT
    await _assert_each_fired_once()
