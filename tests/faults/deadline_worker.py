"""One Outpost-like process firing test deadlines: `python -m tests.faults.deadline_worker URL`.

Prints "ready" once connected, starts its engine when a line arrives on stdin, and exits once
no deadline of the test kind is left to fire. Its handler records each firing in the audit log
in the firing's transaction, so a firing undone is not recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime, timedelta

from bot.deadlines import DeadlineEngine
from db.database import close_database, open_database
from db.enums import DeadlineStatus
from db.models import AuditLog, Deadline
from services.clock import Clock, SystemClock
from services.deadlines import DeadlineHandlers

KIND = "fault"


async def record(deadline: Deadline, clock: Clock) -> datetime | None:
    """Write the firing; every 50th is slower than the lease, to race the other process."""
    await AuditLog.create(
        at=clock.now(),
        action="deadline.fired",
        object_kind="deadline",
        object_id=deadline.id,
        data={"pid": os.getpid()},
    )
    await asyncio.sleep(0.5 if deadline.id % 50 == 0 else 0.002)
    return None


async def main(url: str, lease: float) -> None:
    """Fire deadlines until none is left."""
    await open_database(url)
    handlers = DeadlineHandlers()
    handlers.register(KIND, record)
    engine = DeadlineEngine(
        handlers,
        clock=SystemClock(),
        poll_interval=0.05,
        lease=timedelta(seconds=lease),
        batch=50,
        concurrency=4,
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    engine.start()
    try:
        live = [DeadlineStatus.PENDING, DeadlineStatus.CLAIMED]
        while True:
            if not await Deadline.filter(kind=KIND, status__in=live).exists():
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.stop()
        await close_database()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--lease", type=float, default=0.2)
    options = parser.parse_args()
    asyncio.run(main(options.database_url, options.lease))
