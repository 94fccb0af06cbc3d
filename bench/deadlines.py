"""Deadline benchmark: lag from deadline to action, and the claim query on a large table.

Lag: N pending deadlines fall due evenly over a short window; one engine (bot.deadlines) in
this process acts on them on the wall clock, and each firing notes how late it came. Claim: the
table filled with 100,000 rows (a few hundred due), the claim query (FOR UPDATE SKIP LOCKED) is
timed and its plan printed (PostgreSQL only). Each run uses a fresh scratch database, dropped
afterwards. Prints one figure a line.

    python -m bench.deadlines            # 10,000 deadlines over 10 s; claim on 100,000 rows
    python -m bench.deadlines --quick    # 2,000 over 4 s; claim on 100,000 rows
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "1")

from tortoise import connections
from tortoise.transactions import in_transaction

from bench.common import DEFAULT_POSTGRES, fresh_database, percentile
from bot.deadlines import DeadlineEngine
from db.config import is_sqlite
from db.deadlines import claim_due, pending_due
from db.models import Deadline
from services.clock import Clock, SystemClock
from services.deadlines import DeadlineHandlers

KIND = "bench"


class _Undo(Exception):
    """Leave a transaction by rolling it back."""


@dataclass(frozen=True)
class Sizes:
    """How much to measure."""

    deadlines: int
    window_s: float
    claim_rows: int
    claim_due: int
    claim_runs: int


FULL = Sizes(deadlines=10_000, window_s=10.0, claim_rows=100_000, claim_due=500, claim_runs=200)
QUICK = Sizes(deadlines=2_000, window_s=4.0, claim_rows=100_000, claim_due=500, claim_runs=50)
TINY = Sizes(deadlines=50, window_s=0.5, claim_rows=1_000, claim_due=50, claim_runs=5)


def figure(name: str, value: float | str, unit: str = "") -> None:
    """Print one figure a line."""
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}{unit}", flush=True)


class LagRecorder:
    """A handler noting how long after its due instant each deadline was acted on."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.lags: list[float] = []
        self.all_fired = asyncio.Event()

    async def __call__(self, deadline: Deadline, clock: Clock) -> datetime | None:
        """Note the lag; the engine marks the row done in the same transaction."""
        self.lags.append((clock.now() - deadline.due_at).total_seconds())
        if len(self.lags) >= self.expected:
            self.all_fired.set()
        return None


async def lag(sizes: Sizes) -> None:
    """Deadlines due evenly over the window, an engine on the wall clock: lag p50, p99."""
    clock = SystemClock()
    start = clock.now() + timedelta(seconds=1)
    step = sizes.window_s / sizes.deadlines
    await Deadline.bulk_create(
        [
            Deadline(kind=KIND, key=str(n), due_at=start + timedelta(seconds=n * step))
            for n in range(sizes.deadlines)
        ],
        batch_size=1000,
    )
    recorder = LagRecorder(sizes.deadlines)
    handlers = DeadlineHandlers()
    handlers.register(KIND, recorder)
    engine = DeadlineEngine(handlers, clock=clock)
    engine.start()
    began = time.perf_counter()
    try:
        await asyncio.wait_for(recorder.all_fired.wait(), sizes.window_s + 120)
    finally:
        await engine.stop()
    elapsed = time.perf_counter() - began - 1
    figure("deadlines", f"{sizes.deadlines} due over {sizes.window_s:g} s")
    figure("due per second", sizes.deadlines / sizes.window_s)
    figure("fired per second", len(recorder.lags) / max(elapsed, 1e-9))
    figure("lag p50 ms", percentile(recorder.lags, 0.50) * 1000)
    figure("lag p99 ms (goal < 1000)", percentile(recorder.lags, 0.99) * 1000)
    figure("lag max ms", max(recorder.lags) * 1000)
    figure("lag min ms", min(recorder.lags) * 1000)


async def claim(sizes: Sizes) -> None:
    """The claim query on a large table: its time, and the plan PostgreSQL chose."""
    await Deadline.filter(kind=KIND).delete()
    db = connections.get("default")
    # Most rows wait for later (as station days and escalations do), some are done, a few due.
    future, due = sizes.claim_rows - sizes.claim_due, sizes.claim_due
    await db.execute_script(
        f"""
        INSERT INTO deadline (kind, key, due_at, payload, status, attempts, created_at)
        SELECT 'bench', 'f' || n, now() + n * interval '1 second', '{{}}',
               CASE WHEN n % 4 = 0 THEN 'done' ELSE 'pending' END, 0, now()
        FROM generate_series(1, {future}) AS n;
        INSERT INTO deadline (kind, key, due_at, payload, status, attempts, created_at)
        SELECT 'bench', 'd' || n, now() - n * interval '1 second', '{{}}', 'pending', 0, now()
        FROM generate_series(1, {due}) AS n;
        ANALYZE deadline;
        """
    )
    now = SystemClock().now()
    query = pending_due(now, 100).select_for_update(skip_locked=True).only("id")
    sql = query.sql(params_inline=True)
    plan: Sequence[dict[Any, Any]] = []
    with contextlib.suppress(_Undo):
        async with in_transaction() as connection:
            _, plan = await connection.execute_query(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            raise _Undo  # the locks taken by ANALYZE are let go
    lines = [str(row["QUERY PLAN"]) for row in plan]
    print("EXPLAIN (ANALYZE, BUFFERS) of the claim query:", flush=True)
    for line in lines:
        print("    " + line, flush=True)
    executed = next((line for line in lines if line.startswith("Execution Time")), "")
    figure(
        "claim query execution ms (EXPLAIN ANALYZE)",
        float(executed.split(":")[1].split()[0]) if executed else float("nan"),
    )
    used = any("Index" in line and "deadline" in line for line in lines)
    figure("claim index used", "yes" if used else "NO")
    timings: list[float] = []
    for _ in range(sizes.claim_runs):
        began = time.perf_counter()
        await query  # its own transaction: the locks go at once
        timings.append(time.perf_counter() - began)
    figure("table rows", f"{sizes.claim_rows}")
    figure("claim query round trip p50 ms", percentile(timings, 0.50) * 1000)
    figure("claim query round trip p99 ms (goal < 20)", percentile(timings, 0.99) * 1000)
    whole: list[float] = []
    for run in range(sizes.claim_runs):
        began = time.perf_counter()
        rows = await claim_due(
            now=now, token=f"bench-{run}", lease_until=now + timedelta(minutes=1), limit=10
        )
        whole.append(time.perf_counter() - began)
        if not rows:
            break
    figure(
        "claim_due of 10 rows (select, update, read back) p50 ms", percentile(whole, 0.50) * 1000
    )


async def run(sizes: Sizes, database_url: str) -> None:
    """Both measurements on one scratch database."""
    with tempfile.TemporaryDirectory() as folder:
        async with fresh_database(database_url, Path(folder)):
            figure("database", "SQLite" if is_sqlite(database_url) else "PostgreSQL")
            await lag(sizes)
            if is_sqlite(database_url):
                figure("claim query", "PostgreSQL only")
            else:
                await claim(sizes)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print one figure a line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer deadlines (~15 s)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--database-url", default=os.environ.get("OUTPOST_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    )
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    started = time.perf_counter()
    asyncio.run(run(sizes, args.database_url))
    print(f"run time: {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
