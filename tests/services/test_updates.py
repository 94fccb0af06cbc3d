"""Receiving updates into the inbox, the replies of an update, and retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.enums import DeliveryStatus, InboxStatus, Lane
from db.models import InboundUpdate, OutboxAttachment, OutboxMessage
from services.clock import ManualClock
from services.updates import (
    RETENTION,
    Inbound,
    Reply,
    forget_old,
    queue_replies,
    receive,
    receive_each,
    storable,
)


async def test_a_redelivered_update_is_stored_once_and_poison_is_skipped(
    db: str, clock: ManualClock
) -> None:
    """The same update id twice (a redelivery after a crash) is one row; poison is skipped."""
    good = Inbound(update_id=10, sender_id=7, payload={"update_id": 10, "message": {}})
    poison = Inbound(
        update_id=11, sender_id=None, payload={"update_id": 11, "message": "x"}, poison=True
    )
    assert await receive(bot_id=1, updates=[good, poison], clock=clock) == 1
    assert await receive(bot_id=1, updates=[good], clock=clock) == 0
    rows = await InboundUpdate.all().order_by("update_id")
    assert [(r.update_id, r.status, r.sender_id) for r in rows] == [
        (10, InboxStatus.PENDING, 7),
        (11, InboxStatus.SKIPPED, None),
    ]
    # Another bot's update 10 is another update.
    await receive(bot_id=2, updates=[good], clock=clock)
    assert await InboundUpdate.filter(update_id=10).count() == 2


async def test_replies_become_outbox_rows_once(db: str, clock: ManualClock) -> None:
    """Keyed by bot, update and position: written again (a second handling), nothing doubles."""
    replies = [
        Reply(
            chat_id="7",
            text="<b>hi</b>",
            parse_mode="HTML",
            reply_markup={"remove_keyboard": True},
        ),
        Reply(chat_id="7", text="sheet", document=("x.csv", b"1;2", "text/csv")),
    ]
    for _ in range(2):
        await queue_replies(
            bot_id=1, update_id=5, replies=replies, lane=Lane.APPROVAL, clock=clock
        )
    rows = await OutboxMessage.all().order_by("idempotency_key")
    assert [r.idempotency_key for r in rows] == ["reply:1:5:0", "reply:1:5:1"]
    first, second = rows
    assert (first.text, first.parse_mode, first.reply_markup, first.status) == (
        "<b>hi</b>",
        "HTML",
        {"remove_keyboard": True},
        DeliveryStatus.PENDING,
    )
    attachment = await OutboxAttachment.get(id=second.attachment_id)
    assert (attachment.file_name, bytes(attachment.data)) == ("x.csv", b"1;2")


async def test_handled_updates_are_forgotten_after_retention_pending_ones_never(
    db: str, clock: ManualClock
) -> None:
    """Two days on, handled and skipped rows go; a pending one stays whatever its age."""
    items = [Inbound(update_id=i, sender_id=7, payload={"update_id": i}) for i in (1, 2, 3)]
    await receive(bot_id=1, updates=items, clock=clock)
    await InboundUpdate.filter(update_id=1).update(status=InboxStatus.HANDLED)
    await InboundUpdate.filter(update_id=2).update(status=InboxStatus.SKIPPED)
    assert await forget_old(clock=clock) == 0
    clock.advance(RETENTION + timedelta(minutes=1))
    assert await forget_old(clock=clock) == 2
    assert [r.update_id for r in await InboundUpdate.all()] == [3]


def test_a_nul_character_is_stored_as_a_replacement_character() -> None:
    """PostgreSQL refuses U+0000 in JSON: the update is kept with U+FFFD in its place, keys and
    nested values included, and nothing else changes."""
    payload = {
        "update_id": 1,
        "message": {"text": "/start a\x00b", "entities": [{"x\x00": 1}]},
        "edited": None,
        "n": 2.5,
        "ok": True,
        "path": "C:\\u0000",
    }
    assert storable(payload) == {
        "update_id": 1,
        "message": {"text": "/start a\ufffdb", "entities": [{"x\ufffd": 1}]},
        "edited": None,
        "n": 2.5,
        "ok": True,
        "path": "C:\\u0000",
    }


async def test_an_update_the_database_refuses_is_skipped_and_the_rest_stored(
    db: str, clock: ManualClock
) -> None:
    """A batch refused as a whole is stored one by one: the refused update is kept as skipped
    with its id only (never its content), the others are pending as usual."""
    good = Inbound(1, 7, {"update_id": 1, "message": {"text": "hi"}})
    refused = Inbound(2, 8, {"update_id": 2, "message": {"text": object()}})
    with pytest.raises(TypeError):  # not JSON
        await receive(bot_id=1, updates=[good, refused], clock=clock)
    assert await receive_each(bot_id=1, updates=[good, refused], clock=clock) == 1
    rows = {row.update_id: row for row in await InboundUpdate.all()}
    assert rows[1].status == InboxStatus.PENDING
    assert (rows[2].status, rows[2].payload) == (InboxStatus.SKIPPED, {"update_id": 2})
