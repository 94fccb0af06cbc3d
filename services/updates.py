"""Idempotent handling of Telegram updates: a redelivered update is handled once."""

from __future__ import annotations

from datetime import timedelta

from tortoise.exceptions import IntegrityError

from db.models import ProcessedUpdate
from services.clock import Clock

# Telegram keeps an unconfirmed update for 24 hours; keep the record a little longer.
RETENTION = timedelta(hours=48)


async def already_processed(bot_id: int, update_id: int) -> bool:
    """True when this update was handled before."""
    return await ProcessedUpdate.filter(bot_id=bot_id, update_id=update_id).exists()


async def mark_processed(bot_id: int, update_id: int, *, clock: Clock) -> bool:
    """Record the update as handled; False when another delivery recorded it first."""
    try:
        await ProcessedUpdate.create(bot_id=bot_id, update_id=update_id, processed_at=clock.now())
    except IntegrityError:
        return False
    return True


async def forget_old(*, clock: Clock) -> int:
    """Delete records past retention; returns how many."""
    return await ProcessedUpdate.filter(processed_at__lt=clock.now() - RETENTION).delete()
