"""Security alerts: what the outbox tells us back about each recipient's copy."""

from __future__ import annotations

from db.models import AlertDelivery
from services.notify import DeliveryResult

# The source_kind of an alert's outbox messages (source_id: the alert's id).
ALERT_SOURCE = "alert"


async def mark_delivered(result: DeliveryResult) -> None:
    """An alert message reached its recipient: note when, once (a resend keeps the first)."""
    await AlertDelivery.filter(
        outbox_message_id=result.message_id, delivered_at__isnull=True
    ).update(delivered_at=result.at)
