"""Deadlines: schedule, fire at the due instant, recur, cancel, retry, exactly once."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest

from db.enums import DeadlineStatus
from db.models import Deadline, Station
from services.clock import Clock, ManualClock
from services.deadlines import (
    DeadlineHandlers,
    Fired,
    RetryPolicy,
    cancel,
    fire_due,
    next_due_at,
    schedule,
)

LEASE = timedelta(minutes=2)
RETRY = RetryPolicy(
    first_delay=timedelta(seconds=10), max_delay=timedelta(minutes=1), max_attempts=3
)


class Recorder:
    """A handler that writes a row per firing (a Station: any table with a unique key would do)
    and can be told to fail or to recur."""

    def __init__(self, *, every: timedelta | None = None, failures: int = 0) -> None:
        self.every = every
        self.failures = failures
        self.fired: list[tuple[str, datetime]] = []

    async def __call__(self, deadline: Deadline, clock: Clock) -> datetime | None:
        """Record the firing in the database, in the engine's transaction."""
        await Station.create(
            code=secrets.token_hex(4), name=deadline.key, country="NG", lat=0, lon=0
        )
        if self.failures:
            self.failures -= 1
            raise RuntimeError("boom")
        self.fired.append((deadline.key, clock.now()))
        return clock.now() + self.every if self.every else None


def _handlers(recorder: Recorder) -> DeadlineHandlers:
    handlers = DeadlineHandlers()
    handlers.register("test", recorder)
    return handlers


async def _fire(handlers: DeadlineHandlers, clock: ManualClock, token: str = "a") -> list[Fired]:
    return await fire_due(handlers=handlers, clock=clock, token=token, lease=LEASE, retry=RETRY)


async def test_fires_at_the_deadline_not_before(db: str, clock: ManualClock) -> None:
    """Due at 10:00: nothing at 09:59:59, fired at 10:00, once."""
    recorder = Recorder()
    due = clock.now() + timedelta(hours=1)
    await schedule("test", "k1", due, {"n": 1})
    assert await next_due_at() == due
    clock.set(due - timedelta(seconds=1))
    assert await _fire(_handlers(recorder), clock) == []
    clock.set(due)
    fired = await _fire(_handlers(recorder), clock)
    assert [f.outcome for f in fired] == ["done"]
    assert recorder.fired == [("k1", due)]
    row = await Deadline.get(kind="test", key="k1")
    assert (row.status, row.done_at, row.payload) == (DeadlineStatus.DONE, due, {"n": 1})
    clock.advance(hours=1)
    assert await _fire(_handlers(recorder), clock) == []
    assert await next_due_at() is None


async def test_scheduling_again_moves_the_one_row(db: str, clock: ManualClock) -> None:
    """An upsert by (kind, key): the new due_at replaces the pending one, a done one recurs."""
    await schedule("test", "k", clock.now() + timedelta(hours=2))
    await schedule("test", "k", clock.now() + timedelta(minutes=5))
    assert await Deadline.filter(kind="test").count() == 1
    assert await next_due_at() == clock.now() + timedelta(minutes=5)
    recorder = Recorder()
    clock.advance(minutes=5)
    await _fire(_handlers(recorder), clock)
    await schedule("test", "k", clock.now() + timedelta(minutes=1))
    row = await Deadline.get(kind="test", key="k")
    assert (row.status, row.done_at) == (DeadlineStatus.PENDING, None)


async def test_a_recurring_deadline_reschedules_itself(db: str, clock: ManualClock) -> None:
    """The handler's return is the next due_at, written with the firing."""
    recorder = Recorder(every=timedelta(minutes=30))
    start = clock.now()
    await schedule("test", "tick", start)
    for step in range(3):
        clock.set(start + step * timedelta(minutes=30))
        assert [f.outcome for f in await _fire(_handlers(recorder), clock)] == ["rescheduled"]
        assert await _fire(_handlers(recorder), clock) == []
    assert [at for _, at in recorder.fired] == [
        start,
        start + timedelta(minutes=30),
        start + timedelta(minutes=60),
    ]
    row = await Deadline.get(key="tick")
    assert (row.status, row.due_at) == (DeadlineStatus.PENDING, start + timedelta(minutes=90))


async def test_cancel(db: str, clock: ManualClock) -> None:
    """A cancelled deadline never fires; cancelling twice says there was nothing left."""
    recorder = Recorder()
    await schedule("test", "k", clock.now())
    assert await cancel("test", "k", clock=clock)
    assert not await cancel("test", "k", clock=clock)
    assert not await cancel("test", "unknown", clock=clock)
    assert await _fire(_handlers(recorder), clock) == []
    assert recorder.fired == []
    assert (await Deadline.get(key="k")).status == DeadlineStatus.CANCELLED


async def test_a_raising_handler_is_retried_with_backoff_and_rolled_back(
    db: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure undoes the handler's writes, counts an attempt, keeps the error, and comes
    back after a doubling delay; other rows go on meanwhile."""
    failing, fine = Recorder(failures=2), Recorder()
    handlers = DeadlineHandlers()
    handlers.register("test", failing)
    handlers.register("other", fine)
    await schedule("test", "k", clock.now())
    await schedule("other", "k", clock.now())
    outcomes = {f.kind: f.outcome for f in await _fire(handlers, clock)}
    assert outcomes == {"test": "retry", "other": "done"}
    assert fine.fired
    row = await Deadline.get(kind="test")
    assert (row.status, row.attempts, row.last_error) == (
        DeadlineStatus.PENDING,
        1,
        "RuntimeError: boom",
    )
    assert row.due_at == clock.now() + timedelta(seconds=10)
    assert await Station.filter(name="k").count() == 1  # "other"'s record only
    clock.advance(seconds=9)
    assert await _fire(handlers, clock) == []
    clock.advance(seconds=1)
    assert [f.outcome for f in await _fire(handlers, clock)] == ["retry"]
    assert (await Deadline.get(kind="test")).due_at == clock.now() + timedelta(seconds=20)
    clock.advance(seconds=20)
    assert [f.outcome for f in await _fire(handlers, clock)] == ["done"]
    row = await Deadline.get(kind="test")
    assert (row.status, row.attempts, row.last_error) == (DeadlineStatus.DONE, 2, None)
    assert "failed on attempt 1" in caplog.text
    assert "boom" not in caplog.messages[0]


async def test_gives_up_after_the_last_attempt(db: str, clock: ManualClock) -> None:
    """After max_attempts failures the row is failed for good, and not claimed again."""
    recorder = Recorder(failures=10)
    await schedule("test", "k", clock.now())
    outcomes = []
    for _ in range(3):
        outcomes += [f.outcome for f in await _fire(_handlers(recorder), clock)]
        clock.advance(minutes=5)
    assert outcomes == ["retry", "retry", "failed"]
    assert (await Deadline.get(key="k")).status == DeadlineStatus.FAILED
    assert await _fire(_handlers(recorder), clock) == []


async def test_a_kind_without_handler_waits_for_a_process_that_has_one(
    db: str, clock: ManualClock
) -> None:
    """No handler here: retried later, not dropped."""
    await schedule("unknown", "k", clock.now())
    fired = await _fire(DeadlineHandlers(), clock)
    assert [f.outcome for f in fired] == ["retry"]
    assert (await Deadline.get(key="k")).last_error == "UnknownKind: unknown"


async def test_a_claim_whose_engine_died_is_taken_after_its_lease(
    db: str, clock: ManualClock
) -> None:
    """Engine "a" claims and stalls: "b" cannot take the row until a's lease ends, then fires
    it; "a" acting late finds the row no longer its own, and its work is undone."""
    from db.deadlines import claim_due

    recorder = Recorder()
    await schedule("test", "k", clock.now())
    (claimed,) = await claim_due(
        now=clock.now(), token="a", lease_until=clock.now() + LEASE, limit=10
    )
    assert claimed.due_at == clock.now()
    assert await next_due_at() == clock.now() + LEASE
    assert await _fire(_handlers(recorder), clock, token="b") == []
    clock.advance(LEASE + timedelta(seconds=1))
    assert [f.outcome for f in await _fire(_handlers(recorder), clock, token="b")] == ["done"]
    assert len(recorder.fired) == 1
    from services.deadlines import fire

    lost = await fire(claimed, handlers=_handlers(recorder), clock=clock, token="a", retry=RETRY)
    assert lost.outcome == "lost"
    # "a" ran its handler again, but its work was rolled back with the failed settle.
    assert await Station.filter(name="k").count() == 1


def test_one_handler_per_kind() -> None:
    """Registering a kind twice is a wiring mistake."""
    handlers = DeadlineHandlers()
    handlers.register("test", Recorder())
    with pytest.raises(ValueError, match="already registered"):
        handlers.register("test", Recorder())


def test_retry_policy_doubles_up_to_its_cap() -> None:
    """5 s, 10 s, 20 s ... capped; None after the last attempt."""
    policy = RetryPolicy(
        first_delay=timedelta(seconds=5), max_delay=timedelta(seconds=30), max_attempts=5
    )
    now = datetime.fromisoformat("2026-01-05T09:00:00+00:00")
    delays = [policy.retry_at(n, now) for n in range(1, 6)]
    assert [(d - now).total_seconds() for d in delays if d] == [5, 10, 20, 30]
    assert delays[-1] is None


async def test_a_group_with_a_row_taken_meanwhile_is_redone_row_by_row(
    db: str, clock: ManualClock
) -> None:
    """One commit per group; when one row of the group was cancelled after the claim, the
    group is undone and each row fired alone: the others done, the cancelled one untouched."""
    from db.deadlines import claim_due
    from services.deadlines import fire_group

    recorder = Recorder()
    for key in ("k1", "k2", "k3"):
        await schedule("test", key, clock.now())
    rows = await claim_due(now=clock.now(), token="a", lease_until=clock.now() + LEASE, limit=10)
    assert len(rows) == 3
    await cancel("test", "k2", clock=clock)
    fired = await fire_group(
        rows, handlers=_handlers(recorder), clock=clock, token="a", retry=RETRY
    )
    assert sorted(f.outcome for f in fired) == ["done", "done", "lost"]
    assert sorted(await Station.all().values_list("name", flat=True)) == ["k1", "k3"]
    assert (await Deadline.get(key="k2")).status == DeadlineStatus.CANCELLED


async def test_ensure_leaves_a_live_deadline_alone_and_revives_a_finished_one(
    db: str, clock: ManualClock
) -> None:
    """At start-up: a new row is made, a pending one is not moved, a done one is pending
    again."""
    from services.deadlines import ensure

    assert await ensure("test", "k", clock.now())
    assert not await ensure("test", "k", clock.now() - timedelta(days=1))
    assert (await Deadline.get(key="k")).due_at == clock.now()
    await _fire(_handlers(Recorder()), clock)
    assert await ensure("test", "k", clock.now() + timedelta(hours=1))
    row = await Deadline.get(key="k")
    assert (row.status, row.due_at) == (DeadlineStatus.PENDING, clock.now() + timedelta(hours=1))
    assert await Deadline.filter(kind="test").count() == 1
