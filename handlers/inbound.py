"""Reading an update as Telegram sent it: its id, its sender, and whether it can be handled."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update

from services.emergency import is_sos_text
from services.updates import Inbound


def read_update(payload: Any, bot: Bot) -> Inbound | None:
    """The update to store; None when it has not even an update id (nothing to key it by).

    An update that python-telegram-bot cannot parse is returned as poison: it is stored as
    skipped, so that the updates after it are not held back by it.
    """
    if not isinstance(payload, dict):
        return None
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    try:
        update = Update.de_json(payload, bot)
        user = update.effective_user
    except Exception:
        return Inbound(update_id=update_id, sender_id=None, payload=payload, poison=True)
    return Inbound(
        update_id=update_id,
        sender_id=user.id if user is not None else None,
        payload=payload,
        urgent=is_emergency(update),
    )


def is_emergency(update: Update) -> bool:
    """True for an SOS: /sos, the SOS button, or "SOS", "help", "救命" sent as a message."""
    message = update.message
    if message is None or not message.text:
        return False
    words = message.text.split()
    if words and words[0].split("@", 1)[0].casefold() == "/sos":
        return True
    return is_sos_text(message.text)
