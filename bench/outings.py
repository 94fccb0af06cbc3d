"""Outing benchmark: the overdue sweep with 100,000 outings in the database.

The escalation ladder of every open outing is one deadline (kind `outing_watch`); the sweep is
the engine claiming the steps that fell due, then acting on them (services.outings.handle_watch:
read the outing, queue its messages, move its level). The database holds 100,000 outings (most
of them over, 10 % open with a step pending later, a few hundred overdue) and their deadline
rows; each sweep claims and fires up to 100 due steps. Prints the claim query's plan
(PostgreSQL), the time per sweep and per step, one figure a line.

    python -m bench.outings            # 100,000 outings (PostgreSQL: OUTPOST_BENCH_DATABASE_URL)
    python -m bench.outings --quick    # 20,000 outings
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

from tortoise.transactions import in_transaction

from bench.common import DEFAULT_POSTGRES, fresh_database, percentile
from db.config import is_sqlite
from db.deadlines import pending_due
from db.enums import DeadlineStatus, OutingStatus, Role
from db.models import Deadline, Outing, Person, PersonRole, Station
from services.clock import ManualClock
from services.deadlines import DeadlineHandlers, RetryPolicy, fire_due
from services.outings import ARE_YOU_BACK, DONE, WATCH, handle_watch


class _Undo(Exception):
    """Leave a transaction by rolling it back."""


@dataclass(frozen=True)
class Sizes:
    """How much to measure."""

    outings: int
    open_share: float
    overdue: int
    sweeps: int


FULL = Sizes(outings=100_000, open_share=0.1, overdue=500, sweeps=5)
QUICK = Sizes(outings=20_000, open_share=0.1, overdue=300, sweeps=3)
TINY = Sizes(outings=2_000, open_share=0.1, overdue=20, sweeps=2)
BATCH = 5_000


def figure(name: str, value: float | str, unit: str = "") -> None:
    """Print one figure a line."""
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}{unit}", flush=True)


async def fill(sizes: Sizes, now: datetime) -> None:
    """One station, one head, a person per outing (one open outing per person), the outings and
    the ladder deadline of each open one."""
    station = await Station.create(
        code="BEN", name="Bench", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
    head = await Person.create(telegram_id=1, name="Head", station=station)
    await PersonRole.create(person=head, role=Role.HEAD)
    await Person.bulk_create(
        [
            Person(telegram_id=1000 + n, name=f"P{n}", station_id=station.id)
            for n in range(sizes.outings)
        ],
        batch_size=BATCH,
    )
    people = await Person.filter(telegram_id__gte=1000).order_by("id").values_list("id", flat=True)
    opened = int(sizes.outings * sizes.open_share)
    outings = []
    for n, person_id in enumerate(people):
        is_open = n < opened
        overdue = n < sizes.overdue
        due = now - timedelta(minutes=1) if overdue else now + timedelta(seconds=10 + n)
        outings.append(
            Outing(
                person_id=person_id,
                station_id=station.id,
                destination=f"place {n}",
                status=OutingStatus.OUT if is_open else OutingStatus.RETURNED,
                open_marker=True if is_open else None,
                leaves_at=due - timedelta(hours=2),
                expected_return_at=due,
                returned_at=None if is_open else due,
                escalation_level=ARE_YOU_BACK if is_open else DONE,
                next_escalation_at=due if is_open else None,
            )
        )
    await Outing.bulk_create(outings, batch_size=BATCH)
    rows = await Outing.all().order_by("id").values_list("id", "open_marker", "next_escalation_at")
    await Deadline.bulk_create(
        [
            Deadline(
                kind=WATCH,
                key=str(outing_id),
                due_at=due or now - timedelta(days=1),
                status=DeadlineStatus.PENDING if marker else DeadlineStatus.DONE,
                payload={},
                attempts=0,
            )
            for outing_id, marker, due in rows
        ],
        batch_size=BATCH,
    )


async def explain(now: datetime) -> None:
    """The claim query's plan on the full table (PostgreSQL)."""
    from tortoise import connections

    await connections.get("default").execute_script("ANALYZE deadline; ANALYZE outing;")
    sql = (
        pending_due(now, 100)
        .select_for_update(skip_locked=True)
        .only("id")
        .sql(params_inline=True)
    )
    plan: Sequence[dict[Any, Any]] = []
    with contextlib.suppress(_Undo):
        async with in_transaction() as connection:
            _, plan = await connection.execute_query(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            raise _Undo
    lines = [str(row["QUERY PLAN"]) for row in plan]
    print("EXPLAIN (ANALYZE, BUFFERS) of the sweep's claim query:", flush=True)
    for line in lines:
        print("    " + line, flush=True)
    executed = next((line for line in lines if line.startswith("Execution Time")), "")
    figure(
        "claim query execution ms (EXPLAIN ANALYZE)",
        float(executed.split(":")[1].split()[0]) if executed else float("nan"),
    )
    used = any("Index" in line and "deadline" in line for line in lines)
    figure("claim index used", "yes" if used else "NO")


async def sweeps(sizes: Sizes, clock: ManualClock) -> None:
    """Sweeps of the engine: claim up to 100 due steps and fire them (their messages queued,
    the ladder moved), until nothing is due; then an idle sweep (nothing due)."""
    handlers = DeadlineHandlers()
    handlers.register(WATCH, handle_watch)
    timings: list[float] = []
    fired = 0
    for run in range(1000):
        began = time.perf_counter()
        done = await fire_due(
            handlers=handlers,
            clock=clock,
            token=f"bench-{run}",
            lease=timedelta(minutes=1),
            retry=RetryPolicy(),
            limit=100,
        )
        elapsed = time.perf_counter() - began
        if not done:
            break
        timings.append(elapsed)
        fired += len(done)
        assert all(f.outcome == "rescheduled" for f in done), done[:3]
    idle: list[float] = []
    for run in range(max(sizes.sweeps, 5)):
        began = time.perf_counter()
        await fire_due(
            handlers=handlers,
            clock=clock,
            token=f"idle-{run}",
            lease=timedelta(minutes=1),
            retry=RetryPolicy(),
            limit=100,
        )
        idle.append(time.perf_counter() - began)
    moved = await Outing.filter(escalation_level=ARE_YOU_BACK + 1).count()
    figure(
        "outings",
        f"{sizes.outings} ({int(sizes.outings * sizes.open_share)} open, {sizes.overdue} overdue)",
    )
    figure("steps fired", f"{fired} (ladders moved: {moved})")
    figure("sweep with nothing due p50 ms (goal < 20)", percentile(idle, 0.5) * 1000)
    figure("sweep with nothing due max ms", max(idle) * 1000)
    figure("sweep firing up to 100 steps p50 ms", percentile(timings, 0.5) * 1000)
    figure("per step fired ms", sum(timings) / max(fired, 1) * 1000)


async def run(sizes: Sizes, database_url: str) -> None:
    """Fill a scratch database, explain the claim, time the sweeps."""
    now = datetime.now().astimezone()
    clock = ManualClock(now)
    with tempfile.TemporaryDirectory() as folder:
        async with fresh_database(database_url, Path(folder)):
            figure("database", "SQLite" if is_sqlite(database_url) else "PostgreSQL")
            began = time.perf_counter()
            await fill(sizes, now)
            figure("fill s", time.perf_counter() - began)
            if not is_sqlite(database_url):
                await explain(now)
            await sweeps(sizes, clock)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print one figure a line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 outings")
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
