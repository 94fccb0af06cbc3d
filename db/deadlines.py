"""Deadline queries that need care: the upsert, the claim, and settling a claimed row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from tortoise import connections
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from db.enums import DeadlineStatus
from db.models import Deadline

_LIVE = (DeadlineStatus.PENDING, DeadlineStatus.CLAIMED)


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


async def upsert(
    *, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
) -> None:
    """Make (kind, key) pending at `due_at`, whatever it was before: one row per thing.

    One statement (INSERT ... ON CONFLICT DO UPDATE), so two processes scheduling the same
    thing at once neither fail nor make two rows; it runs in the caller's transaction.
    """
    row = Deadline(
        kind=kind,
        key=key,
        due_at=due_at,
        payload=payload or {},
        status=DeadlineStatus.PENDING,
        attempts=0,
        claimed_by=None,
        lease_until=None,
        last_error=None,
        done_at=None,
    )
    await Deadline.bulk_create(
        [row],
        on_conflict=("kind", "key"),
        update_fields=(
            "due_at",
            "payload",
            "status",
            "attempts",
            "claimed_by",
            "lease_until",
            "last_error",
            "done_at",
        ),
    )


async def insert_if_absent(
    *, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
) -> bool:
    """Make (kind, key) pending at `due_at` unless it is pending or under way already; True
    when it was made. Safe when two processes start at once: neither moves the other's row."""
    before = await Deadline.filter(kind=kind, key=key).exists()
    await Deadline.bulk_create(
        [Deadline(kind=kind, key=key, due_at=due_at, payload=payload or {})],
        ignore_conflicts=True,
    )
    revived = await Deadline.filter(kind=kind, key=key, status__not_in=_LIVE).update(
        status=DeadlineStatus.PENDING,
        due_at=due_at,
        payload=payload or {},
        attempts=0,
        claimed_by=None,
        lease_until=None,
        last_error=None,
        done_at=None,
    )
    return not before or revived > 0


async def cancel(*, kind: str, key: str, now: datetime) -> bool:
    """Cancel (kind, key) if it is still to happen; True when it was.

    A row under way in an engine is cancelled too: that engine's settle then finds the row no
    longer its own and rolls its work back.
    """
    count = await Deadline.filter(kind=kind, key=key, status__in=_LIVE).update(
        status=DeadlineStatus.CANCELLED, claimed_by=None, lease_until=None, done_at=now
    )
    return count > 0


def _due(now: datetime) -> Q:
    return Q(status=DeadlineStatus.PENDING, due_at__lte=now) | Q(
        status=DeadlineStatus.CLAIMED, lease_until__lt=now
    )


def pending_due(now: datetime, limit: int) -> Any:
    """The main claim query: pending rows due by `now`, earliest first (index status, due_at)."""
    return (
        Deadline.filter(status=DeadlineStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "id")
        .limit(limit)
    )


def _expired(now: datetime, limit: int) -> Any:
    """Claimed rows whose engine died: their lease ran out (index status, lease_until)."""
    return (
        Deadline.filter(status=DeadlineStatus.CLAIMED, lease_until__lt=now)
        .order_by("lease_until", "id")
        .limit(limit)
    )


async def claim_due(
    *, now: datetime, token: str, lease_until: datetime, limit: int
) -> list[Deadline]:
    """Take up to `limit` due rows for the claim `token`, leased until `lease_until`.

    Due rows are pending ones whose time has come and claimed ones whose lease ran out. Each
    kind is read by its own index-ordered query (one OR would defeat both indexes). On
    PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent engines take
    disjoint rows; SQLite has a single writer, so a conditional UPDATE suffices. The rows come
    back with the due_at they were scheduled for.
    """
    if limit <= 0:
        return []
    claim: dict[str, Any] = {
        "status": DeadlineStatus.CLAIMED,
        "claimed_by": token,
        "lease_until": lease_until,
    }
    if _dialect() == "postgres":
        async with in_transaction():
            # values_list() would drop FOR UPDATE in Tortoise: select rows with only the id.
            expired = await _expired(now, limit).select_for_update(skip_locked=True).only("id")
            due: list[Deadline] = []
            if len(expired) < limit:
                due = await (
                    pending_due(now, limit - len(expired))
                    .select_for_update(skip_locked=True)
                    .only("id")
                )
            ids = [row.id for row in (*expired, *due)]
            if not ids:
                return []
            await Deadline.filter(_due(now), id__in=ids).update(**claim)
    else:
        ids = list(await _expired(now, limit).values_list("id", flat=True))
        if len(ids) < limit:
            ids += await pending_due(now, limit - len(ids)).values_list("id", flat=True)
        if not ids:
            return []
        # The condition is checked again by the UPDATE itself: another process may have won.
        await Deadline.filter(_due(now), id__in=ids).update(**claim)
    return list(
        await Deadline.filter(
            id__in=ids, claimed_by=token, status=DeadlineStatus.CLAIMED
        ).order_by("due_at", "id")
    )


async def settle(row_id: int, *, token: str, now: datetime, next_due: datetime | None) -> bool:
    """Mark a held row done, or pending again at `next_due`; False when it was not ours."""
    query = Deadline.filter(id=row_id, claimed_by=token, status=DeadlineStatus.CLAIMED)
    if next_due is None:
        count = await query.update(
            status=DeadlineStatus.DONE,
            done_at=now,
            claimed_by=None,
            lease_until=None,
            last_error=None,
        )
    else:
        count = await query.update(
            status=DeadlineStatus.PENDING,
            due_at=next_due,
            attempts=0,
            claimed_by=None,
            lease_until=None,
            last_error=None,
        )
    return count == 1


async def settle_many(
    rows: Sequence[tuple[int, datetime | None]], *, token: str, now: datetime
) -> bool:
    """Settle held rows (done when the next due is None) in the caller's transaction; False
    when any of them was not ours any more (the caller then rolls back)."""
    done = [row_id for row_id, next_due in rows if next_due is None]
    count = 0
    if done:
        count += await Deadline.filter(
            id__in=done, claimed_by=token, status=DeadlineStatus.CLAIMED
        ).update(
            status=DeadlineStatus.DONE,
            done_at=now,
            claimed_by=None,
            lease_until=None,
            last_error=None,
        )
    for row_id, next_due in rows:
        if next_due is not None:
            count += int(await settle(row_id, token=token, now=now, next_due=next_due))
    return count == len(rows)


async def record_failure(
    row_id: int, *, token: str, now: datetime, error: str, retry_at: datetime | None
) -> bool:
    """Count a failed attempt: pending again at `retry_at`, or failed for good when None."""
    values: dict[str, Any] = {
        "attempts": F("attempts") + 1,
        "last_error": error[:2000],
        "claimed_by": None,
        "lease_until": None,
    }
    if retry_at is None:
        values.update(status=DeadlineStatus.FAILED, done_at=now)
    else:
        values.update(status=DeadlineStatus.PENDING, due_at=retry_at)
    count = await Deadline.filter(
        id=row_id, claimed_by=token, status=DeadlineStatus.CLAIMED
    ).update(**values)
    return count == 1


async def release_claims(token: str) -> int:
    """Hand back every row still claimed by `token` (at stop): due again at their time."""
    return await Deadline.filter(claimed_by=token, status=DeadlineStatus.CLAIMED).update(
        status=DeadlineStatus.PENDING, claimed_by=None, lease_until=None
    )


async def next_due_at() -> datetime | None:
    """The earliest moment a row becomes due: a pending due_at or a running lease's end."""
    pending = await (
        Deadline.filter(status=DeadlineStatus.PENDING)
        .order_by("due_at")
        .first()
        .values_list("due_at", flat=True)
    )
    leased = await (
        Deadline.filter(status=DeadlineStatus.CLAIMED)
        .order_by("lease_until")
        .first()
        .values_list("lease_until", flat=True)
    )
    moments = cast("list[datetime | None]", [pending, leased])
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


async def live_keys(kind: str) -> set[str]:
    """Keys of `kind` that are pending or under way."""
    keys = await Deadline.filter(kind=kind, status__in=_LIVE).values_list("key", flat=True)
    return {str(key) for key in keys}
