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

from db.enums import Channel, DeliveryStatus
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


async def confirm_held(
    tokens: Iterable[str], ids: Iterable[int], *, now: datetime, lease_until: datetime
) -> set[int]:
    """Renew the lease of rows a worker holds; the ids it still holds, to send.

    A row is held while it is `sending`, carries one of the worker's claim tokens and its lease
    has not run out. A cancelled row, or one whose lease ran out (another worker may have taken
    it), is not renewed and must not be sent. The UPDATE is atomic with a cancel and with another
    worker's claim, so what it renewed is this worker's until `lease_until`.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    held = Q(
        id__in=wanted,
        status=DeliveryStatus.SENDING,
        claimed_by__in=sorted(set(tokens)),
        lease_until__gt=now,
    )
    await OutboxMessage.filter(held).update(lease_until=lease_until)
    # Rows renewed above now carry `lease_until`; nothing else writes that value.
    renewed: list[Any] = await OutboxMessage.filter(
        id__in=wanted,
        status=DeliveryStatus.SENDING,
        claimed_by__in=sorted(set(tokens)),
        lease_until=lease_until,
    ).values_list("id", flat=True)
    return {int(message_id) for message_id in renewed}


async def cancel_pending(
    source_kind: str,
    source_id: int,
    *,
    now: datetime,
    reason: str,
    key_prefix: str | None = None,
) -> int:
    """Mark every row of a source that has not gone out (pending or claimed) cancelled."""
    query = OutboxMessage.filter(
        source_kind=source_kind,
        source_id=source_id,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING],
    )
    if key_prefix is not None:
        query = query.filter(idempotency_key__startswith=key_prefix)
    return await query.update(
        status=DeliveryStatus.CANCELLED,
        claimed_by=None,
        lease_until=None,
        last_error=reason,
        next_attempt_at=now,
    )


async def blocked_recipients(person_ids: Iterable[int]) -> dict[int, frozenset[Channel]]:
    """The people among these who blocked the bot, with the channels they have an address for."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    found = await Person.filter(id__in=ids, bot_blocked_at__isnull=False)
    return {
        int(person.id): frozenset(
            channel
            for channel in (Channel.SMS, Channel.EMAIL, Channel.VOICE)
            if _next_address(person, channel) is not None
        )
        for person in found
    }


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
    # A final failure: the channels to try next, in order (the first the person has an
    # address for gets a new row linked to this one).
    fallback_channels: tuple[Channel, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def _next_address(person: Person, channel: Channel) -> str | None:
    if channel == Channel.TELEGRAM:
        return None if person.bot_blocked_at is not None else str(person.telegram_id)
    if channel == Channel.EMAIL:
        return person.email or None
    return person.phone or None


async def _fall_back(item: Settlement) -> int | None:
    """Write the failed row again on the person's next channel; the new row's id."""
    row = await OutboxMessage.get_or_none(id=item.message_id)
    if row is None or row.recipient_id is None:  # type: ignore[attr-defined]
        return None
    person = await Person.get_or_none(id=row.recipient_id)  # type: ignore[attr-defined]
    if person is None:
        return None
    for channel in item.fallback_channels:
        address = _next_address(person, channel)
        if address is None:
            continue
        key = f"{row.idempotency_key[:160]}/then-{channel.value}"
        await insert_once(
            [
                OutboxMessage(
                    lane=row.lane,
                    channel=channel,
                    recipient_id=person.id,
                    address=address,
                    language=person.language,
                    msgid=row.msgid,
                    params=row.params,
                    # A reply written out by its handler keeps its words; its Telegram markup and
                    # HTML go no further than Telegram.
                    text=row.text,
                    parse_mode=row.parse_mode if channel == Channel.TELEGRAM else None,
                    reply_markup=row.reply_markup if channel == Channel.TELEGRAM else None,
                    buttons=row.buttons if channel == Channel.TELEGRAM else None,
                    attachment_id=row.attachment_id,
                    idempotency_key=key,
                    source_kind=row.source_kind,
                    source_id=row.source_id,
                    fallback_of_id=row.id,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=item.at,
                )
            ]
        )
        next_row = await OutboxMessage.get(idempotency_key=key)
        return int(next_row.id)
    return None


async def settle(settlements: Sequence[Settlement]) -> dict[int, int]:
    """Write outcomes and attempts in one transaction (a group commit).

    A final failure with fallback channels gets a new row on the person's next channel in the
    same transaction; returns {failed row id: new row id} for those.
    """
    fallbacks: dict[int, int] = {}
    if not settlements:
        return fallbacks
    async with in_transaction():
        attempts: list[DeliveryAttempt] = []
        blocked: dict[int, datetime] = {}
        reached: set[int] = set()
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
                if item.outcome is not None or item.last_error is not None:
                    values.update(error_code=item.error_code, last_error=item.last_error)
                # A row cancelled (or taken by another worker) meanwhile keeps its state.
                query = OutboxMessage.filter(
                    id=item.message_id, claimed_by=item.token, status=DeliveryStatus.SENDING
                )
            changed = await query.update(**values)
            if item.status == DeliveryStatus.SENT and item.extra.get("person_id") is not None:
                reached.add(int(item.extra["person_id"]))
            if changed and item.status == DeliveryStatus.FAILED and item.fallback_channels:
                if item.blocked_person_id is not None:
                    # The next channel is chosen knowing that Telegram is closed.
                    await Person.filter(id=item.blocked_person_id).update(bot_blocked_at=item.at)
                next_id = await _fall_back(item)
                if next_id is not None:
                    fallbacks[item.message_id] = next_id
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
        # A person the bot reached on Telegram has not blocked it (any more).
        reached -= set(blocked)
        if reached:
            await Person.filter(id__in=sorted(reached), bot_blocked_at__isnull=False).update(
                bot_blocked_at=None
            )
    return fallbacks


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
