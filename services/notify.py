"""Telling people things: outbox rows written with the business change, and who was reached."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from db import outbox
from db.enums import Channel, DeliveryStatus, Lane
from db.models import OutboxAttachment, OutboxMessage, Person
from services.clock import Clock
from services.errors import InvalidInput

logger = logging.getLogger(__name__)

ButtonRows = Sequence[Sequence[Mapping[str, Any]]]
Listener = Callable[[Lane], None]
BUTTON_ACTIONS = ("callback_data", "url", "web_app")

_listeners: list[Listener] = []


@dataclass(frozen=True)
class Attachment:
    """A document to send with a message (Telegram: sendDocument with the text as caption)."""

    file_name: str
    data: bytes
    mime_type: str = "application/octet-stream"


def add_listener(listener: Listener) -> None:
    """Be called (with the lane) whenever this process writes an outbox row."""
    _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling `listener`."""
    if listener in _listeners:
        _listeners.remove(listener)


def _announce(lane: Lane) -> None:
    for listener in list(_listeners):
        try:
            listener(lane)
        except Exception:
            logger.exception("outbox listener failed")


def button(
    text: str,
    *,
    callback_data: str | None = None,
    url: str | None = None,
    web_app: str | None = None,
    **params: Any,
) -> dict[str, Any]:
    """One inline button: a msgid (with params) and exactly one action."""
    spec: dict[str, Any] = {"text": text}
    if params:
        spec["params"] = params
    for name, value in (("callback_data", callback_data), ("url", url), ("web_app", web_app)):
        if value is not None:
            spec[name] = value
    _check_button(spec)
    return spec


def _check_button(spec: Mapping[str, Any]) -> None:
    actions = [name for name in BUTTON_ACTIONS if spec.get(name) is not None]
    if not isinstance(spec.get("text"), str) or len(actions) != 1:
        raise InvalidInput("a button needs a text msgid and exactly one action")
    data = spec.get("callback_data")
    if data is not None and len(str(data).encode()) > 64:
        raise InvalidInput("callback_data is longer than 64 bytes")
    unknown = set(spec) - {"text", "params", *BUTTON_ACTIONS}
    if unknown:
        raise InvalidInput(f"unknown button fields: {sorted(unknown)}")


def _buttons(buttons: ButtonRows | None) -> list[list[dict[str, Any]]] | None:
    if not buttons:
        return None
    rows = [[dict(spec) for spec in row] for row in buttons]
    for row in rows:
        for spec in row:
            _check_button(spec)
    return rows


def _address(recipient: Person | str, channel: Channel) -> str:
    if isinstance(recipient, str):
        if not recipient.strip():
            raise InvalidInput("empty recipient address")
        return recipient.strip()
    if channel == Channel.TELEGRAM:
        return str(recipient.telegram_id)
    if channel == Channel.EMAIL:
        if not recipient.email:
            raise InvalidInput("the person has no e-mail address")
        return recipient.email
    if not recipient.phone:
        raise InvalidInput("the person has no phone number")
    return recipient.phone


def _row(
    *,
    recipient: Person | str,
    channel: Channel,
    language: str | None,
    msgid: str,
    params: Mapping[str, Any] | None,
    buttons: ButtonRows | None,
    lane: Lane,
    idempotency_key: str,
    source_kind: str | None,
    source_id: int | None,
    now: datetime,
) -> OutboxMessage:
    if not idempotency_key or len(idempotency_key) > 200:
        raise InvalidInput("an idempotency key of 1-200 characters is required")
    person = recipient if isinstance(recipient, Person) else None
    return OutboxMessage(
        lane=Lane(lane),
        channel=channel,
        recipient_id=person.id if person is not None else None,
        address=_address(recipient, channel),
        language=language or (person.language if person is not None else "en"),
        msgid=msgid,
        params=dict(params or {}),
        buttons=_buttons(buttons),
        idempotency_key=idempotency_key,
        source_kind=source_kind,
        source_id=source_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
    )


async def notify(
    *,
    recipient: Person | str,
    msgid: str,
    params: Mapping[str, Any] | None = None,
    buttons: ButtonRows | None = None,
    lane: Lane,
    idempotency_key: str,
    source_kind: str | None = None,
    source_id: int | None = None,
    channel: Channel | None = None,
    language: str | None = None,
    clock: Clock,
    attachment: Attachment | None = None,
) -> OutboxMessage:
    """Queue one message; a second call with the same idempotency key returns the first row.

    Runs on the caller's transaction when called inside `in_transaction()`, so the message is
    committed with the business change or not at all. A Person is reached on Telegram unless
    `channel` says otherwise; a raw address (e-mail, phone, group chat id) needs `channel`.
    The text is rendered at send time in the recipient's language (`language` for raw addresses).
    With an `attachment`, the message is sent as that document with the text as its caption.
    """
    if isinstance(recipient, str) and channel is None:
        raise InvalidInput("a raw address needs a channel")
    now = clock.now()
    stored_attachment: OutboxAttachment | None = None
    if attachment is not None:
        existing = await OutboxMessage.get_or_none(idempotency_key=idempotency_key)
        if existing is not None:
            return existing
        stored_attachment = await OutboxAttachment.create(
            file_name=attachment.file_name, mime_type=attachment.mime_type, data=attachment.data
        )
    row = _row(
        recipient=recipient,
        channel=channel or Channel.TELEGRAM,
        language=language,
        msgid=msgid,
        params=params,
        buttons=buttons,
        lane=lane,
        idempotency_key=idempotency_key,
        source_kind=source_kind,
        source_id=source_id,
        now=now,
    )
    if stored_attachment is not None:
        row.attachment_id = stored_attachment.id
    await outbox.insert_once([row])
    stored = await OutboxMessage.get(idempotency_key=idempotency_key)
    _announce(Lane(stored.lane))
    return stored


async def notify_many(
    *,
    recipients: Iterable[Person],
    msgid: str,
    params: Mapping[str, Any] | None = None,
    buttons: ButtonRows | None = None,
    lane: Lane,
    idempotency_key: str,
    source_kind: str | None = None,
    source_id: int | None = None,
    clock: Clock,
    chunk: int = 500,
) -> int:
    """Queue one message per person (a broadcast); keys are `{idempotency_key}/{person id}`."""
    now = clock.now()
    rows = [
        _row(
            recipient=person,
            channel=Channel.TELEGRAM,
            language=None,
            msgid=msgid,
            params=params,
            buttons=buttons,
            lane=lane,
            idempotency_key=f"{idempotency_key}/{person.id}",
            source_kind=source_kind,
            source_id=source_id,
            now=now,
        )
        for person in recipients
    ]
    for start in range(0, len(rows), chunk):
        await outbox.insert_once(rows[start : start + chunk])
    if rows:
        _announce(Lane(lane))
    return len(rows)


DeliveryState = Literal["delivered", "failed", "pending", "cancelled"]


@dataclass(frozen=True)
class RecipientDelivery:
    """Where one message of a business object stands for its recipient."""

    message_id: int
    person_id: int | None
    channel: Channel
    state: DeliveryState
    attempts: int
    sent_at: datetime | None
    error_code: int | None
    reason: str | None


def _state(status: DeliveryStatus) -> DeliveryState:
    if status == DeliveryStatus.SENT:
        return "delivered"
    if status == DeliveryStatus.FAILED:
        return "failed"
    if status == DeliveryStatus.CANCELLED:
        return "cancelled"
    return "pending"


async def delivery_report(source_kind: str, source_id: int) -> list[RecipientDelivery]:
    """Per recipient: delivered, failed (and why) or still pending, for one business object."""
    report = []
    for row in await outbox.messages_from(source_kind, source_id):
        state = _state(DeliveryStatus(row.status))
        report.append(
            RecipientDelivery(
                message_id=row.id,
                person_id=row.recipient_id,  # type: ignore[attr-defined]
                channel=Channel(row.channel),
                state=state,
                attempts=row.attempts,
                sent_at=row.sent_at,
                error_code=row.error_code if state != "delivered" else None,
                reason=row.last_error if state != "delivered" else None,
            )
        )
    return report


def unreached(report: Iterable[RecipientDelivery]) -> list[RecipientDelivery]:
    """The entries of a report that did not (yet) reach their recipient."""
    return [entry for entry in report if entry.state != "delivered"]
