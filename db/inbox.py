"""Inbox queries that need care: storing a batch once, taking a sender's oldest update."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise import connections

from db.enums import InboxStatus
from db.models import InboundUpdate


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


async def store(rows: Sequence[InboundUpdate]) -> None:
    """Insert rows whose (bot_id, update_id) is new; a redelivered update is left as stored.

    Call it inside one transaction for a batch: the batch is then durable as a whole before
    Telegram is told it arrived.
    """
    if rows:
        await InboundUpdate.bulk_create(list(rows), ignore_conflicts=True)


async def pending_senders(bot_id: int, *, limit: int = 1000) -> list[int | None]:
    """Senders with updates waiting (None: updates without a sender)."""
    senders = await (
        InboundUpdate.filter(bot_id=bot_id, status=InboxStatus.PENDING)
        .distinct()
        .limit(limit)
        .values_list("sender_id", flat=True)
    )
    return [None if sender is None else int(sender) for sender in senders]  # type: ignore[call-overload]


def _of_sender(bot_id: int, sender_id: int | None) -> dict[str, object]:
    if sender_id is None:
        return {"bot_id": bot_id, "status": InboxStatus.PENDING, "sender_id__isnull": True}
    return {"bot_id": bot_id, "status": InboxStatus.PENDING, "sender_id": sender_id}


async def take_oldest(bot_id: int, sender_id: int | None) -> InboundUpdate | None:
    """Lock and return the sender's oldest pending update; None when there is none, or when
    another process is handling it right now.

    Call it inside the transaction that handles the update. On PostgreSQL the row stays locked
    (FOR UPDATE) until that transaction ends, so a second process skips it (SKIP LOCKED) and,
    as it is still pending, does not take the sender's next update either: one person's updates
    are handled one at a time, in order, across processes. A process that dies mid-way loses
    its connection and with it the lock: the update is free again at once, no lease to wait
    for. SQLite has one writer, which holds the database for the whole transaction.
    """
    if _dialect() != "postgres":
        return await (
            InboundUpdate.filter(**_of_sender(bot_id, sender_id)).order_by("update_id").first()
        )
    # Never LIMIT 1 ... SKIP LOCKED over the sender's rows: it would skip the update being
    # handled and return the next one, out of order. Lock the oldest, or nothing.
    sender = (
        "sender_id = $2" if sender_id is not None else "sender_id IS NULL AND $2::bigint IS NULL"
    )
    rows = await connections.get("default").execute_query_dict(
        f"""SELECT * FROM inbound_update WHERE id = (
                SELECT id FROM inbound_update
                WHERE bot_id = $1 AND status = 'pending' AND {sender}
                ORDER BY update_id LIMIT 1
            ) AND status = 'pending'
            FOR UPDATE SKIP LOCKED""",  # noqa: S608 - a fixed fragment, values are parameters
        [bot_id, sender_id],
    )
    if not rows:
        return None
    return InboundUpdate._init_from_db(**rows[0])


async def finish(
    row_id: int, *, status: InboxStatus, at: datetime, by: str, error: str | None = None
) -> None:
    """Record what became of an update (inside the handling transaction for `handled`)."""
    await InboundUpdate.filter(id=row_id).update(
        status=status, handled_at=at, claimed_by=by, error=error
    )


async def count_failure(row_id: int, *, give_up_after: int, at: datetime, by: str) -> int:
    """One more failed handling; past `give_up_after` the update is skipped. Returns attempts."""
    row = await InboundUpdate.get(id=row_id)
    attempts = row.attempts + 1
    if attempts >= give_up_after:
        await InboundUpdate.filter(id=row_id, status=InboxStatus.PENDING).update(
            attempts=attempts,
            status=InboxStatus.SKIPPED,
            handled_at=at,
            claimed_by=by,
            error="handling failed every time",
        )
    else:
        await InboundUpdate.filter(id=row_id).update(attempts=attempts)
    return attempts


async def forget_before(moment: datetime) -> int:
    """Delete updates received before `moment` that need nothing more; returns how many."""
    return await InboundUpdate.filter(
        received_at__lt=moment, status__in=[InboxStatus.HANDLED, InboxStatus.SKIPPED]
    ).delete()
