"""Telegram updates in and out of the inbox: stored once, handled once, kept a while."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.exceptions import DBConnectionError
from tortoise.transactions import in_transaction

from db import inbox, outbox
from db.enums import Channel, DeliveryStatus, InboxStatus, Lane
from db.models import InboundUpdate, OutboxAttachment, OutboxMessage, Person
from services.clock import Clock
from services.notify import notify

logger = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours; keep the record a little longer.
RETENTION = timedelta(hours=48)

# Replies written while handling an update go on this lane unless the handler says otherwise.
REPLY_LANE = Lane.APPROVAL
_reply_lane: ContextVar[Lane] = ContextVar("reply_lane", default=REPLY_LANE)


@dataclass(frozen=True)
class Inbound:
    """One update as received: its id, whose it is, and whether it can be handled at all."""

    update_id: int
    sender_id: int | None
    payload: Any
    # Cannot be parsed: stored as skipped, never handled.
    poison: bool = False
    # An SOS: its sender is served before everyone else.
    urgent: bool = False


def storable(value: Any) -> Any:
    """The update's JSON with every NUL character replaced: PostgreSQL refuses U+0000 in JSON
    and text, and one such update must neither be lost nor stop the others being stored."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


async def receive(*, bot_id: int, updates: Sequence[Inbound], clock: Clock) -> int:
    """Store a batch in one transaction (a known update id is left alone); returns how many
    were poison. Once this returns, Telegram may be told the batch arrived."""
    now = clock.now()
    rows = [
        InboundUpdate(
            bot_id=bot_id,
            update_id=item.update_id,
            sender_id=item.sender_id,
            received_at=now,
            payload=storable(item.payload),
            status=InboxStatus.SKIPPED if item.poison else InboxStatus.PENDING,
            handled_at=now if item.poison else None,
            error="cannot be parsed" if item.poison else None,
        )
        for item in updates
    ]
    async with in_transaction():
        await inbox.store(rows)
    poison = sum(1 for item in updates if item.poison)
    for item in updates:
        if item.poison:
            # The update id only: its content may be anyone's personal data.
            logger.warning("update %s cannot be parsed: skipped", item.update_id)
    return poison


async def receive_each(*, bot_id: int, updates: Sequence[Inbound], clock: Clock) -> int:
    """Store a batch the database refused as a whole, one update at a time: an update it still
    refuses is kept as skipped with its id only, so one bad update never holds up the rest (nor
    polling). Raises when even that fails (the database is down): the batch is fetched again."""
    poison = 0
    for item in updates:
        try:
            poison += await receive(bot_id=bot_id, updates=[item], clock=clock)
        except (DBConnectionError, ConnectionError, TimeoutError):
            raise
        except Exception as exc:
            logger.warning(
                "update %s could not be stored (%s): skipped", item.update_id, type(exc).__name__
            )
            bare = Inbound(item.update_id, item.sender_id, {"update_id": item.update_id}, True)
            poison += await receive(bot_id=bot_id, updates=[bare], clock=clock)
    return poison


@dataclass(frozen=True)
class Reply:
    """A message a handler sent to a chat while handling an update, as it will go out."""

    chat_id: str
    text: str
    parse_mode: str | None = None
    # Telegram's reply_markup as is (inline or reply keyboard, remove_keyboard).
    reply_markup: dict[str, Any] | None = None
    # (file name, bytes, MIME type): sent as this document with `text` as its caption.
    document: tuple[str, bytes, str] | None = None


async def queue_replies(
    *, bot_id: int, update_id: int, replies: Sequence[Reply], lane: Lane, clock: Clock
) -> None:
    """Write the replies of one update to the outbox, keyed by the update: call it in the
    transaction that handles the update, so they go out once whatever happens."""
    now = clock.now()
    rows = []
    for n, reply in enumerate(replies):
        attachment_id = None
        if reply.document is not None:
            name, data, mime_type = reply.document
            stored = await OutboxAttachment.create(file_name=name, mime_type=mime_type, data=data)
            attachment_id = stored.id
        rows.append(
            OutboxMessage(
                lane=lane,
                channel=Channel.TELEGRAM,
                address=reply.chat_id,
                msgid="",
                params={},
                text=reply.text,
                parse_mode=reply.parse_mode,
                reply_markup=reply.reply_markup,
                attachment_id=attachment_id,
                idempotency_key=f"reply:{bot_id}:{update_id}:{n}",
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
            )
        )
    await outbox.insert_once(rows)


async def tell_sender_it_failed(
    *, bot_id: int, update_id: int, sender_id: int | None, clock: Clock
) -> None:
    """An update whose handling failed every time was skipped: its sender hears that it went
    wrong (the replies of the failed tries were rolled back with them), never silence."""
    if sender_id is None:
        return
    person = await Person.get_or_none(telegram_id=sender_id)
    await notify(
        recipient=str(sender_id),
        channel=Channel.TELEGRAM,
        language=person.language if person is not None else None,
        msgid="error.generic",
        lane=REPLY_LANE,
        idempotency_key=f"reply-failed:{bot_id}:{update_id}",
        clock=clock,
    )


def start_replies() -> None:
    """A new update is being handled: its replies go on the default lane."""
    _reply_lane.set(REPLY_LANE)


def reply_on_lane(lane: Lane) -> None:
    """Send the replies of the update being handled on `lane` (an SOS answer: EMERGENCY)."""
    _reply_lane.set(lane)


def reply_lane() -> Lane:
    """The lane for replies of the update being handled."""
    return _reply_lane.get()


async def forget_old(*, clock: Clock) -> int:
    """Delete handled and skipped updates past retention; returns how many."""
    return await inbox.forget_before(clock.now() - RETENTION)
