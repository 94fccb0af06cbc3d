"""Check-ins per second end to end, against a bare python-telegram-bot bot, in one run.

The sandbox runs in its own process with flood limits off. Both bots take updates by long
polling from it: Outpost's real Application (gate, check-in handler, geofence, database write)
and a bare PTB bot that answers every message with "ok". Each is sent the same bursts of
location messages from distinct people; the sandbox measures from each message to the bot's
answer. Printed, one figure a line: both rates, their ratio (goal ≥ 0.6) and Outpost's p50/p99.

    python -m bench.checkin [--quick] [--database-url postgres://...|sqlite://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import time as wall_time
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "1")

import aiohttp
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.common import DEFAULT_POSTGRES, fresh_database, percentile, sandbox_process
from bot.app import TelegramEndpoint, build_telegram, menu_publisher
from bot.delivery.aiohttp_request import AiohttpRequest
from bot.delivery.config import DeliveryConfig, RateConfig
from bot.delivery.service import DeliveryService, default_worker_id
from bot.delivery.telegram import TelegramSender, make_bot
from bot.ordering import InboxDispatcher
from bot.polling import Poller
from bot.replies import OutpostBot
from db.enums import Channel, Role
from db.models import Person, PersonRole, Station
from services.clock import SystemClock

OUTPOST_TOKEN = "7100000001:BENCH-outpost-token-not-for-telegram"
BARE_TOKEN = "7100000002:BENCH-bare-token-not-for-telegram0000"
STATION = (6.4281, 3.4219)
FIRST_ID = 500_000


@dataclass(frozen=True)
class Sizes:
    """How many people share a location in each burst, and how many bursts."""

    people: int
    bursts: int

    # People who then check in one at a time, for the latency of an unloaded bot.
    single: int = 50


FULL = Sizes(people=1000, bursts=3, single=200)
QUICK = Sizes(people=200, bursts=2, single=50)
TINY = Sizes(people=5, bursts=1, single=3)  # the smoke test: does it still run?


async def _api(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with session.request(method, url, json=body) as response:
        response.raise_for_status()
        return await response.json()


async def _seed(url: str, sizes: Sizes) -> None:
    """The same people in the sandbox and, as staff of one station, in the database."""
    station = await Station.create(
        code="BEN",
        name="Bench station",
        country="NG",
        lat=STATION[0],
        lon=STATION[1],
        timezone="Africa/Lagos",
        workday_ends=wall_time(23, 59),
    )
    ids = range(FIRST_ID, FIRST_ID + sizes.people * sizes.bursts + sizes.single)
    await Person.bulk_create(
        [Person(telegram_id=i, name=f"P{i}", station_id=station.id) for i in ids]
    )
    people = await Person.filter(telegram_id__gte=FIRST_ID).values_list("id", flat=True)
    await PersonRole.bulk_create([PersonRole(person_id=pid, role=Role.STAFF) for pid in people])
    async with aiohttp.ClientSession() as session:
        for i in ids:
            await _api(
                session,
                "POST",
                f"{url}/sandbox/api/people",
                {"user_id": i, "first_name": f"P{i}", "language_code": "en"},
            )


async def _answer_ok(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bare bot: answer every message."""
    if update.effective_message is not None:
        await update.effective_message.reply_text("ok")


def _bare_bot(url: str, *, aiohttp_backend: bool) -> Application[Any, Any, Any, Any, Any, Any]:
    builder = (
        ApplicationBuilder()
        .token(BARE_TOKEN)
        .base_url(f"{url}/bot")
        .base_file_url(f"{url}/file/bot")
        .concurrent_updates(True)
    )
    if aiohttp_backend:
        builder = builder.request(AiohttpRequest(connection_pool_size=64)).get_updates_request(
            AiohttpRequest(connection_pool_size=2)
        )
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, _answer_ok))
    return application


Running = Callable[[], contextlib.AbstractAsyncContextManager[None]]


def _bare_running(application: Application[Any, Any, Any, Any, Any, Any]) -> Running:
    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[None]:
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        try:
            yield
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()

    return running


def _outpost_running(url: str) -> Running:
    """Outpost's way in and out: polling into the inbox, the dispatcher, replies by the outbox
    (paced far above the sandbox's rate here: its limits are off, as for the bare bot)."""

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[None]:
        clock = SystemClock()
        application = build_telegram(
            TelegramEndpoint(token=OUTPOST_TOKEN, api_url=url), clock=clock
        )
        await application.initialize()
        unpaced = DeliveryConfig(
            rate=RateConfig(per_second=100_000, per_chat_per_second=1000, per_chat_burst=1000)
        )
        delivery = DeliveryService(
            senders={Channel.TELEGRAM: TelegramSender(make_bot(OUTPOST_TOKEN, url), own_bot=True)},
            config=unpaced,
            clock=clock,
            rate_clock=time.monotonic,
        )
        await delivery.start()
        dispatcher = InboxDispatcher(
            application, clock=clock, worker_id=default_worker_id(), on_replies=delivery.wake
        )
        await dispatcher.start()
        bot = application.bot
        assert isinstance(bot, OutpostBot)
        poller = Poller(bot, clock=clock, on_stored=dispatcher.wake)
        await poller.start()
        try:
            yield
        finally:
            await poller.stop()
            await dispatcher.stop()
            await delivery.stop()
            await application.shutdown()

    return running


async def _measure(
    url: str,
    running: Running,
    bot: str,
    sizes: Sizes,
    *,
    single: bool = False,
) -> tuple[float, list[float]]:
    """Bursts of locations from distinct people; returns answers per second and latencies.

    With `single`, people come one at a time instead, each after the previous one's answer.
    """
    latencies: list[float] = []
    elapsed = 0.0
    async with running(), aiohttp.ClientSession() as session:
        await _api(session, "DELETE", f"{url}/sandbox/api/stats?bot={bot}")
        first_single = FIRST_ID + sizes.people * sizes.bursts
        rounds = (
            [[i] for i in range(first_single, first_single + sizes.single)]
            if single
            else [
                list(range(FIRST_ID + b * sizes.people, FIRST_ID + (b + 1) * sizes.people))
                for b in range(sizes.bursts)
            ]
        )
        answered = 0
        for ids in rounds:
            started = time.perf_counter()
            await _api(
                session,
                "POST",
                f"{url}/sandbox/api/burst",
                {
                    "bot": bot,
                    "user_ids": ids,
                    "latitude": STATION[0] + 0.0005,
                    "longitude": STATION[1],
                },
            )
            answered += len(ids)
            while True:
                stats = await _api(session, "GET", f"{url}/sandbox/api/stats?bot={bot}")
                if len(stats["reply_latencies"]) >= answered:
                    break
                await asyncio.sleep(0.001 if single else 0.02)
            elapsed += time.perf_counter() - started
        stats = await _api(session, "DELETE", f"{url}/sandbox/api/stats?bot={bot}")
        latencies = stats["reply_latencies"]
    return len(latencies) / elapsed, latencies


async def run(sizes: Sizes, database_url: str) -> dict[str, float]:
    """Measure both bots on one sandbox; returns the figures."""
    bots = {OUTPOST_TOKEN: "outpost_bench_bot", BARE_TOKEN: "bare_bench_bot"}
    with tempfile.TemporaryDirectory() as folder, sandbox_process(bots, "--no-limits") as url:
        async with fresh_database(database_url, Path(folder)):
            await _seed(url, sizes)
            bare = _bare_running(_bare_bot(url, aiohttp_backend=False))
            bare_rate, _ = await _measure(url, bare, "bare_bench_bot", sizes)
            bare_aio = _bare_running(_bare_bot(url, aiohttp_backend=True))
            bare_aio_rate, _ = await _measure(url, bare_aio, "bare_bench_bot", sizes)
            # Steady state: everyone's command menu was published on an earlier day.
            endpoint = TelegramEndpoint(token=OUTPOST_TOKEN, api_url=url)
            book = menu_publisher(build_telegram(endpoint, clock=SystemClock())).book
            await Person.filter(telegram_id__gte=FIRST_ID).update(
                menu_key=book.menu_key({Role.STAFF}, "en")
            )
            outpost = _outpost_running(url)
            rate, latencies = await _measure(url, outpost, "outpost_bench_bot", sizes)
            _, unloaded = await _measure(url, outpost, "outpost_bench_bot", sizes, single=True)
            checkins = await Person.filter(checkins__id__isnull=False).distinct().count()
    expected = sizes.people * sizes.bursts + sizes.single
    if checkins != expected:
        raise SystemExit(f"expected {expected} check-ins, found {checkins}")
    return {
        "checkins per second": rate,
        "bare PTB bot answers per second": bare_rate,
        "ratio": rate / bare_rate,
        "bare PTB bot on aiohttp answers per second": bare_aio_rate,
        "ratio to the same backend": rate / bare_aio_rate,
        "burst p50 ms": percentile(latencies, 0.50) * 1000,
        "burst p99 ms": percentile(latencies, 0.99) * 1000,
        "unloaded p50 ms": percentile(unloaded, 0.50) * 1000,
        "unloaded p99 ms": percentile(unloaded, 0.99) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print one figure a line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer people (under a minute)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--database-url", default=os.environ.get("OUTPOST_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    )
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    figures = asyncio.run(run(sizes, args.database_url))
    for name, value in figures.items():
        print(f"{name}: {value:.2f}")


if __name__ == "__main__":
    main()
