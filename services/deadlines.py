"""Deadlines: what must happen at an instant, acted on exactly once, with its next time.

A feature schedules a deadline by kind and key (`schedule`, an upsert in the caller's
transaction) and registers a handler for its kind on the engine's `DeadlineHandlers`, built in
the wiring. When the row falls due, one engine claims it and calls the handler with the row and
the clock in one transaction with marking the row done, or pending again at the instant the
handler returns (a recurring deadline): a crash does both or neither. A handler that raises is
rolled back and retried later (`RetryPolicy`); other rows go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.transactions import in_transaction

from db import deadlines as queries
from db.models import Deadline
from services.clock import Clock, ensure_utc

logger = logging.getLogger(__name__)

# Acts on a due row; returns when it falls due next, or None when it is done.
Handler = Callable[[Deadline, Clock], Awaitable[datetime | None]]


class Wake(Protocol):
    """Told of a newly scheduled instant, so an engine asleep until later wakes for it."""

    def __call__(self, due_at: datetime) -> None:
        """`due_at` has been scheduled."""


async def schedule(
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    *,
    wake: Wake | None = None,
) -> None:
    """Make (kind, key) fall due at `due_at`; a pending one moves. In the caller's transaction.

    `wake` tells this process's engine at once (other processes see it at their next poll).
    """
    due_at = ensure_utc(due_at)
    await queries.upsert(kind=kind, key=key, due_at=due_at, payload=payload)
    if wake is not None:
        wake(due_at)


async def ensure(
    kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
) -> bool:
    """Make (kind, key) fall due at `due_at` unless it is still to happen; True when it was
    made (at start-up: another process starting at once does not move it back)."""
    return await queries.insert_if_absent(
        kind=kind, key=key, due_at=ensure_utc(due_at), payload=payload
    )


async def cancel(kind: str, key: str, *, clock: Clock) -> bool:
    """Call off (kind, key) if it has not happened yet; True when there was one to cancel."""
    return await queries.cancel(kind=kind, key=key, now=clock.now())


class DeadlineHandlers:
    """Which handler acts on each kind of deadline: one set per engine, filled in the wiring."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        """Let `handler` act on the deadlines of `kind` (one handler per kind)."""
        if kind in self._handlers:
            raise ValueError(f"a handler for deadlines of kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def get(self, kind: str) -> Handler | None:
        """The handler of `kind`, if any."""
        return self._handlers.get(kind)


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed deadline is tried again: doubling delays, then failed for good."""

    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 20

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """After `attempts` failures, when to try again (None: give up)."""
        if attempts >= self.max_attempts:
            return None
        delay = self.first_delay * (2 ** min(attempts - 1, 30))
        return now + min(delay, self.max_delay)


@dataclass(frozen=True)
class Fired:
    """What became of one claimed deadline."""

    deadline_id: int
    kind: str
    # done, rescheduled, retry, failed, or lost (taken, moved or cancelled meanwhile).
    outcome: str


class _Lost(Exception):
    """The row stopped being ours while we acted on it: undo the work."""


class UnknownKind(LookupError):
    """No handler is registered for a deadline's kind in this process."""


async def _act(row: Deadline, handlers: DeadlineHandlers, clock: Clock) -> datetime | None:
    handler = handlers.get(row.kind)
    if handler is None:
        raise UnknownKind(row.kind)
    next_due = await handler(row, clock)
    return ensure_utc(next_due) if next_due is not None else None


def _acted(row: Deadline, next_due: datetime | None) -> Fired:
    return Fired(row.id, row.kind, "rescheduled" if next_due is not None else "done")


async def _failed(
    row: Deadline, exc: Exception, *, clock: Clock, token: str, retry: RetryPolicy
) -> Fired:
    now = clock.now()
    retry_at = retry.retry_at(row.attempts + 1, now)
    # The error's type only: its text may hold personal data; it goes to last_error.
    logger.error(
        "deadline %s of kind %s failed on attempt %d (%s)",
        row.id,
        row.kind,
        row.attempts + 1,
        type(exc).__name__,
        exc_info=exc,
    )
    await queries.record_failure(
        row.id, token=token, now=now, error=f"{type(exc).__name__}: {exc}", retry_at=retry_at
    )
    return Fired(row.id, row.kind, "retry" if retry_at is not None else "failed")


async def fire(
    row: Deadline,
    *,
    handlers: DeadlineHandlers,
    clock: Clock,
    token: str,
    retry: RetryPolicy,
) -> Fired:
    """Act on one claimed row: the handler's work and the row's new state in one transaction."""
    try:
        async with in_transaction():
            # No lock is taken before the work: the settle below is conditional on the claim,
            # so if the lease ran out and another engine took the row, or it was cancelled or
            # moved meanwhile, this transaction (the work included) is rolled back, and of two
            # engines acting on one row exactly one commits.
            next_due = await _act(row, handlers, clock)
            if not await queries.settle(row.id, token=token, now=clock.now(), next_due=next_due):
                raise _Lost
    except _Lost:
        return Fired(row.id, row.kind, "lost")
    except Exception as exc:
        return await _failed(row, exc, clock=clock, token=token, retry=retry)
    return _acted(row, next_due)


async def fire_group(
    rows: Sequence[Deadline],
    *,
    handlers: DeadlineHandlers,
    clock: Clock,
    token: str,
    retry: RetryPolicy,
) -> list[Fired]:
    """Act on several claimed rows with one commit: each handler runs in its own savepoint,
    so one that raises undoes only its own work; every row is settled in the same transaction.

    A commit costs a disk flush; one per row would cap the engine at a few hundred deadlines a
    second. If any row stopped being ours meanwhile, the whole group is undone and each row is
    fired again on its own.
    """
    if len(rows) == 1:
        return [await fire(rows[0], handlers=handlers, clock=clock, token=token, retry=retry)]
    acted: list[tuple[Deadline, datetime | None]] = []
    failed: list[tuple[Deadline, Exception]] = []
    try:
        async with in_transaction():
            for row in rows:
                try:
                    async with in_transaction():
                        next_due = await _act(row, handlers, clock)
                except Exception as exc:
                    failed.append((row, exc))
                    continue
                acted.append((row, next_due))
            settled = await queries.settle_many(
                [(row.id, next_due) for row, next_due in acted], token=token, now=clock.now()
            )
            if not settled:
                raise _Lost
    except _Lost:
        return [
            await fire(row, handlers=handlers, clock=clock, token=token, retry=retry)
            for row in rows
        ]
    fired = [_acted(row, next_due) for row, next_due in acted]
    for row, error in failed:
        fired.append(await _failed(row, error, clock=clock, token=token, retry=retry))
    return fired


async def fire_due(
    *,
    handlers: DeadlineHandlers,
    clock: Clock,
    token: str,
    lease: timedelta,
    retry: RetryPolicy,
    limit: int = 200,
    group: int = 50,
    concurrency: int = 4,
) -> list[Fired]:
    """Claim up to `limit` due rows and act on them in groups of `group` rows (one transaction
    each), up to `concurrency` groups at a time."""
    now = clock.now()
    rows = await queries.claim_due(now=now, token=token, lease_until=now + lease, limit=limit)
    if not rows:
        return []
    slots = asyncio.Semaphore(max(1, concurrency))
    size = max(1, group)

    async def one(part: Sequence[Deadline]) -> list[Fired]:
        async with slots:
            return await fire_group(part, handlers=handlers, clock=clock, token=token, retry=retry)

    parts = [rows[start : start + size] for start in range(0, len(rows), size)]
    return [
        fired for done in await asyncio.gather(*(one(part) for part in parts)) for fired in done
    ]


async def next_due_at() -> datetime | None:
    """The earliest instant any deadline falls due (or a running claim's lease runs out)."""
    return await queries.next_due_at()


async def release(token: str) -> int:
    """Hand back what `token` still holds (at stop), due again at its own time."""
    return await queries.release_claims(token)


async def live_keys(kind: str) -> set[str]:
    """Keys of `kind` still to happen (pending or under way)."""
    return await queries.live_keys(kind)
