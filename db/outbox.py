"""Outbox queries that need care: writing rows once, claiming due rows, settling outcomes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from db.enums import DeliveryStatus
from db.models import DeliveryAttempt, OutboxMessage, Person

logger = logging.getLogger(__name__)


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


async def insert_once(rows: Sequence[OutboxMessage]) -> None:
    """Insert rows whose idempotency key is new; rows with a known key are skipped."""
    if rows:
        await OutboxMessage.bulk_create(list(rows), ignore_conflicts=True)


def _due(now: datetime, max_lane: int | None) -> Q:
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )
    return due & Q(lane__lte=max_lane) if max_lane is not None else due


async def claim_due(
    *,
    now: datetime,
    token: str,
    lease_until: datetime,
    limit: int,
    max_lane: int | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows (highest lane first) for the claim `token`, leased until then.

    Due rows are pending ones whose time has come and rows whose lease ran out (their worker
    died). On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED so that concurrent
    workers take disjoint rows; SQLite has a single writer, so a conditional UPDATE suffices.
    """
    if limit <= 0:
        return []
    order = ("lane", "next_attempt_at", "id")
    claim: dict[str, Any] = {
        "status": DeliveryStatus.SENDING,
        "claimed_by": token,
        "lease_until": lease_until,
    }
    if _dialect() == "postgres":
        async with in_transaction():
            # values_list() would drop FOR UPDATE in Tortoise: select model rows with only the id.
            locked = await (
                OutboxMessage.filter(_due(now, max_lane))
                .order_by(*order)
                .limit(limit)
                .select_for_update(skip_locked=True)
                .only("id")
            )
            if not locked:
                return []
            ids = [row.id for row in locked]
            await OutboxMessage.filter(_due(now, max_lane), id__in=ids).update(**claim)
    else:
        ids = await (
            OutboxMessage.filter(_due(now, max_lane))
            .order_by(*order)
            .limit(limit)
            .values_list("id", flat=True)
        )
        if not ids:
            return []
        # The condition is checked again by the UPDATE itself: another process may have won.
        await OutboxMessage.filter(_due(now, max_lane), id__in=ids).update(**claim)
    rows = await OutboxMessage.filter(claimed_by=token).order_by(*order)
    return list(rows)


async def recipient_languages(person_ids: Iterable[int]) -> dict[int, str]:
    """The current language of each person, to render messages at send time."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    pairs = await Person.filter(id__in=ids).values_list("id", "language")
    return {int(person_id): str(language) for person_id, language in pairs}


@dataclass
class Settlement:
    """What became of one claimed row: the new state and the attempt to record."""

    message_id: int
    token: str
    status: DeliveryStatus
    at: datetime
    attempts: int
    next_attempt_at: datetime | None = None
    external_id: str | None = None
    error_code: int | None = None
    last_error: str | None = None
    # None: nothing was tried (a row handed back unsent).
    outcome: str | None = None
    http_status: int | None = None
    retry_after_s: float | None = None
    duration_ms: float | None = None
    blocked_person_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def settle(settlements: Sequence[Settlement]) -> None:
    """Write outcomes and attempts in one transaction (a group commit)."""
    if not settlements:
        return
    async with in_transaction():
        attempts: list[DeliveryAttempt] = []
        blocked: dict[int, datetime] = {}
        for item in settlements:
            values: dict[str, Any] = {"status": item.status, "attempts": item.attempts}
            if item.status == DeliveryStatus.SENT:
                values.update(
                    sent_at=item.at,
                    external_id=item.external_id,
                    lease_until=None,
                    error_code=None,
                    last_error=None,
                )
                # Sent is a fact whatever happened to the lease: no claim check.
                query = OutboxMessage.filter(id=item.message_id)
            else:
                values.update(lease_until=None, claimed_by=None)
                if item.next_attempt_at is not None:
                    values["next_attempt_at"] = item.next_attempt_at
                if item.outcome is not None:
                    values.update(error_code=item.error_code, last_error=item.last_error)
                query = OutboxMessage.filter(id=item.message_id, claimed_by=item.token)
            await query.update(**values)
            if item.outcome is not None:
                attempts.append(
                    DeliveryAttempt(
                        message_id=item.message_id,
                        at=item.at,
                        outcome=item.outcome,
                        http_status=item.http_status,
                        retry_after_s=item.retry_after_s,
                        error=item.last_error if item.outcome != "sent" else None,
                        duration_ms=item.duration_ms,
                    )
                )
            if item.blocked_person_id is not None:
                blocked[item.blocked_person_id] = item.at
        if attempts:
            await DeliveryAttempt.bulk_create(attempts)
        for person_id, at in blocked.items():
            await Person.filter(id=person_id).update(bot_blocked_at=at)


async def release_claims(token_prefix: str, *, now: datetime) -> int:
    """Hand back every row still claimed by one worker (at stop), due again at once."""
    return await OutboxMessage.filter(
        status=DeliveryStatus.SENDING, claimed_by__startswith=token_prefix
    ).update(status=DeliveryStatus.PENDING, claimed_by=None, lease_until=None, next_attempt_at=now)


async def messages_from(source_kind: str, source_id: int) -> list[OutboxMessage]:
    """Every outbox row caused by one business object, oldest first."""
    return list(
        await OutboxMessage.filter(source_kind=source_kind, source_id=source_id).order_by("id")
    )
