"""Delivery benchmark: broadcast rate against the limit, emergency delay, HTTP backend speed.

Runs the sandbox Bot API in a separate process (or uses --sandbox-url), a SQLite file database in
a temporary folder (or --database-url, which should name a scratch database) and one delivery
worker in this process. Prints one figure a line.

    python -m bench.delivery            # 3,000 recipients, then a 5,000-person alert; minutes
    python -m bench.delivery --quick    # fewer recipients, about a minute
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import operator
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "1")

import aiohttp
from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bench.common import sandbox_process
from bot.delivery.aiohttp_request import AiohttpRequest
from bot.delivery.base import Outcome, RenderedMessage
from bot.delivery.config import DeliveryConfig, RateConfig, WorkerConfig
from bot.delivery.service import DeliveryService
from bot.delivery.telegram import TelegramSender, make_bot
from db.database import apply_migrations, close_database, open_database
from db.enums import AlertReply, AlertScope, Channel, Lane, Role, Severity
from db.models import AlertDelivery, DeliveryAttempt, OutboxMessage, Person, PersonRole
from services import alerts
from services.clock import SystemClock
from services.notify import notify, notify_many
from services.people import identify

TOKEN = "777000:bench-delivery-token-abcdef"
FIRST_ID = 900_000
EMERGENCIES = 50
IN_FLIGHT = 16
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sizes:
    """How much work each figure is measured on."""

    broadcast: int
    paid_broadcast: int
    emergencies: int
    backend_requests: int
    alert: int = 0  # recipients of a security alert sent through services.alerts


FULL = Sizes(
    broadcast=3000, paid_broadcast=3000, emergencies=EMERGENCIES, backend_requests=3000, alert=5000
)
QUICK = Sizes(
    broadcast=330, paid_broadcast=1500, emergencies=EMERGENCIES, backend_requests=800, alert=400
)
# The share of alert recipients who answer, each as soon as their copy is accepted.
ANSWERING = 0.8
ANSWER_WORKERS = 4


@dataclass
class Figures:
    """What one run measured."""

    values: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, text: str) -> None:
        """Keep a figure and print its line."""
        self.values[name] = value
        self.lines.append(text)
        print(text, flush=True)


class TimingSender(TelegramSender):
    """The Telegram sender, noting when each message was accepted."""

    def __init__(self, bot: Bot) -> None:
        super().__init__(bot, own_bot=True)
        self.accepted: dict[int, float] = {}
        self.changed = asyncio.Event()

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait until `done()` holds, checking after every accepted message."""
        while not done():
            self.changed.clear()
            await self.changed.wait()

    async def send(self, message: RenderedMessage) -> Outcome:
        """Send and time."""
        outcome = await super().send(message)
        if outcome.kind == "sent":
            self.accepted[message.message_id] = time.perf_counter()
            self.changed.set()
        return outcome


async def _control(session: aiohttp.ClientSession, url: str, path: str, body: Any) -> None:
    async with session.post(f"{url}/sandbox/api/{path}", json=body) as response:
        response.raise_for_status()


async def _make_people(url: str, count: int) -> list[Person]:
    async with aiohttp.ClientSession() as session:
        for start in range(0, count, 100):
            await asyncio.gather(
                *(
                    _control(
                        session,
                        url,
                        "people",
                        {"user_id": FIRST_ID + n, "first_name": f"B{n}"},
                    )
                    for n in range(start, min(count, start + 100))
                )
            )
    await Person.filter(telegram_id__gte=FIRST_ID).delete()
    await Person.bulk_create(
        [Person(telegram_id=FIRST_ID + n, name=f"B{n}", language="en") for n in range(count)]
    )
    return list(await Person.filter(telegram_id__gte=FIRST_ID).order_by("telegram_id"))


@contextlib.asynccontextmanager
async def _service(
    url: str, rate: RateConfig
) -> AsyncIterator[tuple[DeliveryService, TimingSender]]:
    sender = TimingSender(make_bot(TOKEN, url))
    service = DeliveryService(
        senders={Channel.TELEGRAM: sender},
        config=DeliveryConfig(rate=rate, worker=WorkerConfig(poll_seconds=0.2)),
    )
    await service.start()
    try:
        yield service, sender
    finally:
        await service.stop()


def _share(times: list[float], limit: float) -> float:
    if len(times) < 2:
        return 0.0
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0]) / limit


async def _wait_sent(sender: TimingSender, ids: set[int]) -> None:
    await sender.until(lambda: ids.issubset(sender.accepted))


async def _queue_broadcast(people: list[Person], source_id: int) -> set[int]:
    """Write one broadcast to `people` (tagged with `source_id`); the ids of its rows."""
    rows = await notify_many(
        recipients=people,
        msgid="outbox.test",
        params={"name": "all"},
        lane=Lane.BROADCAST,
        idempotency_key=f"bench-broadcast-{source_id}",
        source_kind="bench",
        source_id=source_id,
        clock=SystemClock(),
    )
    return {row.id for row in rows}


async def broadcast_with_emergencies(
    url: str, people: list[Person], sizes: Sizes, figures: Figures
) -> None:
    """(a) 30/s broadcast rate share, (b) emergency delay while it runs."""
    rate = RateConfig(per_second=30)
    crowd = people[: sizes.broadcast]
    responders = people[sizes.broadcast : sizes.broadcast + sizes.emergencies]
    ids = await _queue_broadcast(crowd, 30)
    async with _service(url, rate) as (service, sender):
        await sender.until(lambda: bool(sender.accepted))
        # Spread the emergencies over the first 80 % of the broadcast.
        interval = min(1.5, 0.8 * sizes.broadcast / rate.per_second / max(1, len(responders)))
        delays: list[float] = []
        for n, person in enumerate(responders):
            written = time.perf_counter()
            row = await notify(
                recipient=person,
                msgid="outbox.test",
                params={"name": "sos"},
                lane=Lane.EMERGENCY,
                idempotency_key=f"bench-sos-{n}",
                clock=SystemClock(),
            )
            ids.add(row.id)
            await sender.until(functools.partial(operator.contains, sender.accepted, row.id))
            delays.append(sender.accepted[row.id] - written)
            await asyncio.sleep(interval)
        await _wait_sent(sender, ids)
        share = _share(list(sender.accepted.values()), rate.per_second)
        throttled = service.throttled
    figures.add("share_30", share, f"rate share 30/s: {share:.3f}")
    delays_ms = sorted(d * 1000 for d in delays)
    p50 = statistics.median(delays_ms)
    p99 = delays_ms[min(len(delays_ms) - 1, round(0.99 * (len(delays_ms) - 1)))]
    figures.add("emergency_p50_ms", p50, f"emergency delay p50: {p50:.1f} ms")
    figures.add("emergency_p99_ms", p99, f"emergency delay p99: {p99:.1f} ms")
    figures.values["throttled"] = throttled


async def paid_broadcast(url: str, people: list[Person], sizes: Sizes, figures: Figures) -> None:
    """(a) the paid broadcast rate share at 1000/s."""
    rate = RateConfig(allow_paid_broadcast=True)
    ids = await _queue_broadcast(people[: sizes.paid_broadcast], 1000)
    async with _service(url, rate) as (service, sender):
        await _wait_sent(sender, ids)
        share = _share(list(sender.accepted.values()), rate.paid_per_second)
        throttled = service.throttled
    figures.add("share_1000", share, f"rate share 1000/s: {share:.3f}")
    total = int(figures.values.get("throttled", 0)) + throttled
    figures.add("429s", total, f"429s: {total}")


async def _requests_per_second(url: str, request: BaseRequest, count: int) -> float:
    base = url.rstrip("/")
    bot = Bot(TOKEN, base_url=f"{base}/bot", request=request, get_updates_request=request)
    chats = [FIRST_ID + n for n in range(IN_FLIGHT)]
    async with bot:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(chats[n % IN_FLIGHT])

        async def lane() -> None:
            while not queue.empty():
                await bot.send_message(queue.get_nowait(), "x")

        await bot.send_message(chats[0], "warm-up")
        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
        return count / (time.perf_counter() - started)


async def _posts_per_second(url: str, request: BaseRequest, count: int) -> float:
    """sendMessage through the backend alone (BaseRequest.post: HTTP, status and JSON)."""
    endpoint = f"{url.rstrip('/')}/bot{TOKEN}/sendMessage"
    await request.initialize()
    try:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(FIRST_ID + n % IN_FLIGHT)

        async def lane() -> None:
            while not queue.empty():
                data = RequestData(
                    [
                        RequestParameter.from_input("chat_id", queue.get_nowait()),
                        RequestParameter.from_input("text", "x"),
                    ]
                )
                await request.post(endpoint, data)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
        return count / (time.perf_counter() - started)
    finally:
        await request.shutdown()


async def backends(url: str, sizes: Sizes, figures: Figures) -> None:
    """(c) sendMessage requests/s at 16 in flight: aiohttp backend vs PTB's httpx backend."""
    async with aiohttp.ClientSession() as session:
        await _control(session, url, "limits", {"enabled": False})
    try:
        fast = await _posts_per_second(url, AiohttpRequest(), sizes.backend_requests)
        slow = await _posts_per_second(url, HTTPXRequest(), sizes.backend_requests)
        bot_fast = await _requests_per_second(url, AiohttpRequest(), sizes.backend_requests)
        bot_slow = await _requests_per_second(url, HTTPXRequest(), sizes.backend_requests)
    finally:
        async with aiohttp.ClientSession() as session:
            await _control(session, url, "limits", {"enabled": True})
    n = IN_FLIGHT
    figures.add("aiohttp_rps", fast, f"aiohttp backend sendMessage/s at {n} in flight: {fast:.0f}")
    figures.add("httpx_rps", slow, f"httpx backend sendMessage/s at {n} in flight: {slow:.0f}")
    figures.add("backend_ratio", fast / slow, f"backend ratio: {fast / slow:.2f}")
    figures.add("bot_aiohttp_rps", bot_fast, f"Bot.send_message/s on aiohttp: {bot_fast:.0f}")
    figures.add("bot_httpx_rps", bot_slow, f"Bot.send_message/s on httpx: {bot_slow:.0f}")
    ratio = bot_fast / bot_slow
    figures.add("bot_ratio", ratio, f"Bot.send_message ratio (PTB objects included): {ratio:.2f}")


async def _send_alert(people: list[Person], tag: str) -> tuple[int, dict[int, int]]:
    """Send an alert to everyone in the bench database, as HQ would; (alert id, outbox message
    id → telegram id)."""
    sender = people[0]
    await PersonRole.get_or_create(person=sender, role=Role.HQ)
    actor = await identify(sender.telegram_id)
    alert = await alerts.send(
        actor,
        alerts.Draft(
            severity=Severity.WARNING,
            audience=alerts.Audience(AlertScope.ALL),
            texts={"en": {"title": f"Bench {tag}", "body": "Stay indoors."}},
        ),
        clock=SystemClock(),
    )
    rows = await AlertDelivery.filter(alert_id=alert.id).values_list(
        "outbox_message_id", "person__telegram_id"
    )
    return alert.id, {int(message): int(telegram) for message, telegram in rows}


async def _alert_run(
    url: str,
    people: list[Person],
    rate: RateConfig,
    per_second: float,
    tag: str,
    figures: Figures,
) -> None:
    """One alert to everyone: total time against (n − 1) / limit, 429s, and answers recorded
    by simulated recipients (ANSWERING of them) as their copies are accepted."""
    answered_at: dict[int, float] = {}
    async with _service(url, rate) as (service, sender):
        started = time.perf_counter()
        alert_id, recipients = await _send_alert(people, tag)
        ids = set(recipients)
        answering = {
            message for n, message in enumerate(sorted(ids)) if n % 10 < int(ANSWERING * 10)
        }
        queue: asyncio.Queue[int] = asyncio.Queue()
        seen: set[int] = set()

        async def press() -> None:
            while True:
                message = await queue.get()
                await alerts.answer(
                    telegram_id=recipients[message],
                    alert_id=alert_id,
                    reply=AlertReply.SAFE,
                    clock=SystemClock(),
                )
                answered_at[message] = time.perf_counter()
                queue.task_done()

        def feed() -> bool:
            for message in answering.intersection(sender.accepted).difference(seen):
                seen.add(message)
                queue.put_nowait(message)
            return ids.issubset(sender.accepted)

        workers = [asyncio.create_task(press()) for _ in range(ANSWER_WORKERS)]
        try:
            await sender.until(feed)
            finished = max(sender.accepted[message] for message in ids)
            await queue.join()
        finally:
            for worker in workers:
                worker.cancel()
        throttled = service.throttled
    accepted = sorted(sender.accepted[message] for message in ids)
    minimum = (len(ids) - 1) / per_second
    ratio = (accepted[-1] - accepted[0]) / minimum
    total = finished - started
    figures.add(
        f"alert_{tag}_ratio",
        ratio,
        f"alert to {len(ids)} at {tag}: {accepted[-1] - accepted[0]:.1f} s first to last "
        f"sent, {ratio:.3f}× the minimum {minimum:.1f} s ({total:.1f} s from send())",
    )
    figures.add(f"alert_{tag}_429s", throttled, f"alert at {tag}: 429s: {throttled}")
    latencies = sorted(answered_at[m] - sender.accepted[m] for m in answering)
    times = sorted(answered_at[m] - started for m in answering)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    lag95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    figures.add(
        f"alert_{tag}_answers_p95_s",
        p95,
        f"alert at {tag}: 95 % of {len(answering)} answers recorded {p95:.1f} s after "
        f"send(); answer recorded within {lag95 * 1000:.0f} ms of its copy (p95)",
    )


async def alert_delivery(url: str, people: list[Person], sizes: Sizes, figures: Figures) -> None:
    """A security alert to `sizes.alert` people at 30/s, then the same paid at 1000/s."""
    crowd = people[: sizes.alert]
    await Person.filter(telegram_id__gte=FIRST_ID + sizes.alert).update(active=False)
    await _alert_run(url, crowd, RateConfig(per_second=30), 30, "30/s", figures)
    await _alert_run(
        url, crowd, RateConfig(allow_paid_broadcast=True), 1000, "1000/s paid", figures
    )


async def run(url: str, database_url: str, sizes: Sizes) -> Figures:
    """Every measurement against the sandbox at `url`; returns the figures."""
    await open_database(database_url)
    try:
        await apply_migrations()
        await DeliveryAttempt.all().delete()
        await OutboxMessage.all().delete()
        people = await _make_people(
            url, max(sizes.broadcast + sizes.emergencies, sizes.paid_broadcast, sizes.alert)
        )
        figures = Figures()
        await broadcast_with_emergencies(url, people, sizes, figures)
        await paid_broadcast(url, people, sizes, figures)
        await backends(url, sizes, figures)
        if sizes.alert:
            await alert_delivery(url, people, sizes, figures)
        return figures
    finally:
        await close_database()


def main(argv: list[str] | None = None) -> None:
    """Parse options, start the sandbox, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer recipients, under 45 s")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--sandbox-url", default=None, help="use a running sandbox")
    parser.add_argument(
        "--sizes",
        default=None,
        metavar="B,P,E,R[,A]",
        help="broadcast, paid, emergencies, requests[, alert recipients]",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK if args.quick else FULL
    if args.sizes:
        sizes = Sizes(*(int(part) for part in args.sizes.split(",")))
    with tempfile.TemporaryDirectory() as folder:
        database_url = args.database_url or f"sqlite://{folder}/bench.sqlite3"
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            url = args.sandbox_url or stack.enter_context(sandbox_process({TOKEN: "bench_bot"}))
            asyncio.run(run(url, database_url, sizes))
        print(f"run time: {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
