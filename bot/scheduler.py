"""The scheduler: APScheduler drives the ticks; the database says what is due."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from services.attendance import run_all_station_days
from services.attendance_sheet import send_monthly_sheets
from services.clock import Clock
from services.conversations import expire_flows

logger = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[object]]


class Scheduler:
    """Cron-like ticks; each tick asks the database what is due, so a restart loses nothing."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._ticks: dict[str, Tick] = {}

    def add_tick(self, name: str, tick: Tick, trigger: CronTrigger) -> None:
        """Run `tick` on `trigger`; a tick that is still running is not started twice."""
        self._ticks[name] = tick
        self._scheduler.add_job(
            self._run, trigger, args=[name], id=name, max_instances=1, coalesce=True,
            misfire_grace_time=300,
        )

    async def _run(self, name: str) -> None:
        try:
            await self._ticks[name]()
        except Exception:
            logger.exception("scheduled tick %s failed", name)

    def add_startup_tick(self, name: str, tick: Tick) -> None:
        """A tick run only by hand (`run_now`), at start-up."""
        self._ticks[name] = tick

    async def run_now(self, name: str) -> None:
        """Run one tick at once (at start-up, to catch up after a stop)."""
        await self._run(name)

    def start(self) -> None:
        """Start ticking."""
        self._scheduler.start()

    def stop(self) -> None:
        """Stop ticking; a tick under way finishes on its own."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


def build_scheduler(clock: Clock, *, attendance_sheet_day: int = 26) -> Scheduler:
    """Every recurring job of Outpost."""
    scheduler = Scheduler(clock)
    # Each station's day (reminders, missed check-ins) is computed in its own time zone from the
    # database every minute: station hours may change at any time without rescheduling, and
    # idempotency keys make a repeated tick harmless.
    scheduler.add_tick(
        "station_days", lambda: run_all_station_days(clock=clock), CronTrigger(second=5)
    )
    # At start-up the same, and a digest that fell due while Outpost was stopped.
    scheduler.add_startup_tick(
        "station_days_catch_up", lambda: run_all_station_days(clock=clock, catch_up=True)
    )
    # The monthly sheet to HQ: checked every hour, sent once per month and person.
    scheduler.add_tick(
        "attendance_sheets",
        lambda: send_monthly_sheets(clock=clock, day_of_month=attendance_sheet_day),
        CronTrigger(minute=15),
    )
    # Conversations nobody answered in time: dropped, and the person told (until the deadline
    # engine calls expire_flows when each falls due).
    scheduler.add_tick("expire_flows", lambda: expire_flows(clock), CronTrigger(second=35))
    return scheduler
