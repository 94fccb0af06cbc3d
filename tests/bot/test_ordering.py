"""The inbox dispatcher: one person's updates in order, others meanwhile, each once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Bot, Update
from tortoise.exceptions import OperationalError

from bot.ordering import InboxDispatcher
from db.enums import InboxStatus, Lane
from db.models import InboundUpdate, OutboxMessage, Person
from handlers.inbound import read_update
from services.clock import ManualClock
from services.updates import reply_on_lane
from tests.auxil.inbox import inbox_application, store, text_update
from tests.conftest import on_postgres


def _dispatcher(application: Any, clock: ManualClock, **options: Any) -> InboxDispatcher:
    return InboxDispatcher(application, clock=clock, worker_id="test-worker", **options)


async def test_one_persons_updates_are_handled_in_order(db: str, clock: ManualClock) -> None:
    """Ada's updates one after the other in update order, each finished before the next."""
    log: list[str] = []

    async def handle(update: Update, context: Any) -> None:
        assert update.message is not None
        log.append(f"start {update.message.text}")
        await asyncio.sleep(0)
        log.append(f"end {update.message.text}")

    async with inbox_application(handle) as (application, _):
        dispatcher = _dispatcher(application, clock)
        await store(application.bot.id, clock, *(text_update(i, 7, f"ada-{i}") for i in (3, 1, 2)))
        dispatcher.wake([7])
        await dispatcher.start()
        await dispatcher.idle()
        await dispatcher.stop()
    assert log == [f"{step} ada-{i}" for i in (1, 2, 3) for step in ("start", "end")]


@pytest.mark.skipif(not on_postgres(), reason="SQLite has one writer: one handling at a time")
async def test_a_slow_update_of_one_person_does_not_hold_back_another(
    db: str, clock: ManualClock
) -> None:
    """A slow first update of Ada holds back her second, not Ben's."""
    log: list[str] = []
    release, ada_waits, ben_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handle(update: Update, context: Any) -> None:
        assert update.message is not None
        name = update.message.text or ""
        log.append(f"start {name}")
        if name == "ada-1":
            ada_waits.set()
            await release.wait()
        log.append(f"end {name}")
        if name == "ben":
            ben_done.set()

    async with inbox_application(handle) as (application, _):
        dispatcher = _dispatcher(application, clock)
        bot_id = application.bot.id
        senders = await store(
            bot_id,
            clock,
            text_update(1, 7, "ada-1"),
            text_update(2, 7, "ada-2"),
            text_update(3, 8, "ben"),
        )
        await dispatcher.start()
        dispatcher.wake(senders)
        await ada_waits.wait()
        await ben_done.wait()
        assert sorted(log) == ["end ben", "start ada-1", "start ben"]
        release.set()
        await dispatcher.idle()
        await dispatcher.stop()
    assert log[3:] == ["end ada-1", "start ada-2", "end ada-2"]
    assert await InboundUpdate.filter(status=InboxStatus.HANDLED).count() == 3


async def test_a_flooding_person_holds_one_task_and_others_get_theirs(
    db: str, clock: ManualClock
) -> None:
    """With one task for everyone, a person with 20 updates waiting yields it after `turn`
    updates: the other person's update does not wait for the whole flood."""
    order: list[int] = []

    async def handle(update: Update, context: Any) -> None:
        order.append(update.update_id)

    async with inbox_application(handle) as (application, _):
        dispatcher = _dispatcher(application, clock, max_senders=1, turn=3)
        bot_id = application.bot.id
        flood = [text_update(i, 7) for i in range(1, 21)]
        await store(bot_id, clock, *flood, text_update(21, 8))
        dispatcher.wake([7, 8])
        await dispatcher.start()
        await dispatcher.idle()
        await dispatcher.stop()
    assert order.index(21) <= 3
    assert [i for i in order if i != 21] == list(range(1, 21))


async def test_replies_are_written_to_the_outbox_with_the_update(
    db: str, clock: ManualClock
) -> None:
    """reply_text() sends nothing during the handling: the replies become outbox rows keyed by
    the update, on the approval lane, or the emergency lane when the handler asks for it."""

    async def handle(update: Update, context: Any) -> None:
        assert update.message is not None
        if update.message.text == "sos":
            reply_on_lane(Lane.EMERGENCY)
        sent = await update.message.reply_text(f"one for {update.message.text}")
        assert sent.message_id < 0  # not a Telegram message id
        await update.message.reply_text("two", parse_mode="HTML")

    async with inbox_application(handle) as (application, server):
        person = server.add_person(7, "Ada", "en")
        dispatcher = _dispatcher(application, clock)
        bot_id = application.bot.id
        await store(bot_id, clock, text_update(1, 7, "hello"), text_update(2, 7, "sos"))
        dispatcher.wake([7])
        await dispatcher.start()
        await dispatcher.idle()
        await dispatcher.stop()
        assert person.messages == []  # nothing went out directly
    rows = await OutboxMessage.all().order_by("id")
    assert [(r.idempotency_key, r.text, r.lane, r.parse_mode, r.address) for r in rows] == [
        (f"reply:{bot_id}:1:0", "one for hello", Lane.APPROVAL, None, "7"),
        (f"reply:{bot_id}:1:1", "two", Lane.APPROVAL, "HTML", "7"),
        (f"reply:{bot_id}:2:0", "one for sos", Lane.EMERGENCY, None, "7"),
        (f"reply:{bot_id}:2:1", "two", Lane.EMERGENCY, "HTML", "7"),
    ]


@pytest.mark.parametrize(
    ("error", "tries"),
    [(OperationalError("database is locked"), 3), (RuntimeError("a bug"), 1)],
)
async def test_a_failing_handling_is_rolled_back_tried_again_then_skipped(
    db: str, clock: ManualClock, error: Exception, tries: int
) -> None:
    """What a failing handler wrote and replied is rolled back; a passing fault (the database)
    is tried three times, a bug once; then the update is skipped, its sender told, and the
    person's next update is handled."""
    calls: list[int] = []

    async def handle(update: Update, context: Any) -> None:
        calls.append(update.update_id)
        assert update.message is not None
        await Person.create(telegram_id=update.update_id * 1000, name="x")
        await update.message.reply_text("half an answer")
        if update.update_id == 1:
            raise error

    async with inbox_application(handle) as (application, _):
        dispatcher = _dispatcher(application, clock, give_up_after=3)
        bot_id = application.bot.id
        await store(bot_id, clock, text_update(1, 7), text_update(2, 7))
        dispatcher.wake([7])
        await dispatcher.start()
        await dispatcher.idle()
        await dispatcher.stop()
    assert calls == [1] * tries + [2]
    skipped = await InboundUpdate.get(update_id=1)
    assert (skipped.status, skipped.attempts) == (InboxStatus.SKIPPED, tries)
    assert (await InboundUpdate.get(update_id=2)).status == InboxStatus.HANDLED
    assert await Person.filter(telegram_id=1000).count() == 0
    assert await Person.filter(telegram_id=2000).count() == 1
    # The skipped update's sender hears it went wrong; the next update's reply goes out.
    assert sorted(r.idempotency_key for r in await OutboxMessage.all()) == [
        f"reply-failed:{bot_id}:1",
        f"reply:{bot_id}:2:0",
    ]
    told = await OutboxMessage.get(idempotency_key=f"reply-failed:{bot_id}:1")
    assert (told.address, told.msgid) == ("7", "error.generic")


async def test_updates_left_pending_by_a_stopped_process_are_handled_at_start(
    db: str, clock: ManualClock
) -> None:
    """No wake-up needed: the dispatcher looks for pending updates when it starts."""
    handled: list[int] = []
    both = asyncio.Event()

    async def handle(update: Update, context: Any) -> None:
        handled.append(update.update_id)
        if len(handled) == 2:
            both.set()

    async with inbox_application(handle) as (application, _):
        await store(application.bot.id, clock, text_update(5, 7), text_update(6, 9))
        dispatcher = _dispatcher(application, clock)
        await dispatcher.start()
        await both.wait()  # nothing woke it: its first look found them
        await dispatcher.idle()
        await dispatcher.stop()
    assert sorted(handled) == [5, 6]


@pytest.mark.skipif(not on_postgres(), reason="two processes share a database on PostgreSQL")
async def test_two_dispatchers_on_one_database_handle_each_update_once_in_order(
    db: str, clock: ManualClock
) -> None:
    """As two Outpost processes would: every update once, each person's strictly in order,
    never two of one person at the same time, and both dispatchers at work."""
    senders = list(range(1, 7))
    running: set[int] = set()
    overlaps: list[int] = []
    seen: dict[int, list[int]] = {sender: [] for sender in senders}
    by_worker: dict[str, int] = {}
    finished = asyncio.Event()
    total = 40 * len(senders)

    def handler_for(worker: str) -> Any:
        async def handle(update: Update, context: Any) -> None:
            assert update.effective_user is not None
            sender = update.effective_user.id
            if sender in running:  # a handler's assert would only make it be tried again
                overlaps.append(update.update_id)
            running.add(sender)
            await asyncio.sleep(0)  # let the other dispatcher try to take this person's next
            seen[sender].append(update.update_id)
            by_worker[worker] = by_worker.get(worker, 0) + 1
            running.discard(sender)
            if sum(len(ids) for ids in seen.values()) == total:
                finished.set()

        return handle

    async with (
        inbox_application(handler_for("a")) as (app_a, _),
        inbox_application(handler_for("b")) as (app_b, _),
    ):
        assert app_a.bot.id == app_b.bot.id
        updates = [text_update(i, senders[i % len(senders)]) for i in range(1, total + 1)]
        await store(app_a.bot.id, clock, *updates)
        first = InboxDispatcher(app_a, clock=clock, worker_id="a", max_handling=2)
        second = InboxDispatcher(app_b, clock=clock, worker_id="b", max_handling=2)
        await first.start()
        await second.start()
        first.wake(senders)
        second.wake(senders)
        await finished.wait()
        await first.stop()
        await second.stop()
    assert overlaps == []
    for sender, ids in seen.items():
        assert ids == sorted(ids)
        assert len(ids) == len(set(ids)) == 40, sender
    assert set(by_worker) == {"a", "b"}
    rows = await InboundUpdate.filter(status=InboxStatus.HANDLED)
    assert len(rows) == total
    assert {row.claimed_by for row in rows} == {"a", "b"}


async def test_an_sos_is_handled_before_everyone_waiting(db: str, clock: ManualClock) -> None:
    """30 people's check-ins wait for the one database slot; an SOS that arrives after them
    all (recognised as it is read) is handled next, before any of them."""
    log: list[str] = []
    first_started, release = asyncio.Event(), asyncio.Event()

    async def handle(update: Update, context: Any) -> None:
        assert update.message is not None
        log.append(update.message.text or "")
        if len(log) == 1:
            first_started.set()
            await release.wait()

    async with inbox_application(handle) as (application, _):
        dispatcher = _dispatcher(application, clock, max_senders=4, max_handling=1)
        bot_id = application.bot.id
        checkins = [text_update(i, 100 + i, f"checkin-{i}") for i in range(1, 31)]
        sos = text_update(99, 999, "🆘 SOS")
        read = [read_update(payload, application.bot) for payload in [*checkins, sos]]
        assert [item.urgent for item in read if item is not None].count(True) == 1
        # Stored before the first handling holds the database (SQLite has one writer).
        await store(bot_id, clock, *checkins, sos)
        await dispatcher.start()
        dispatcher.wake(100 + i for i in range(1, 31))
        await first_started.wait()
        dispatcher.wake([999])
        dispatcher.wake_urgent([999])
        release.set()
        await dispatcher.idle()
        await dispatcher.stop()
    assert log[0] == "checkin-1"
    assert log[1] == "🆘 SOS"
    assert len(log) == 31


def test_emergency_updates_are_recognised_as_read() -> None:
    """/sos, the keyboard button and the words are urgent; a check-in or "helpful" is not."""
    bot = Bot("123:abc")
    urgent = [
        read_update(text_update(1, 7, text), bot)
        for text in ("/sos", "/sos@outpost_bot", "🆘 SOS", "help", "救命", "SOS!")
    ]
    calm = [read_update(text_update(1, 7, text), bot) for text in ("helpful", "/start", "hi")]
    assert all(item is not None and item.urgent for item in urgent)
    assert not any(item is not None and item.urgent for item in calm)
