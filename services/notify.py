"""Telling people things: outbox rows written with the business change, and who was reached."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from db import outbox
from db.enums import Channel, DeliveryStatus, Lane
from db.models import OutboxAttachment, OutboxMessage, Person
from services.clock import Clock
from services.errors import InvalidInput, NotFound

logger = logging.getLogger(__name__)

ButtonRows = Sequence[Sequence[Mapping[str, Any]]]
Listener = Callable[[Lane], None]
# request_location: a keyboard button under the message box that shares the phone's location
# (Telegram shows such buttons instead of inline ones: a message has one kind of keyboard).
BUTTON_ACTIONS = ("callback_data", "url", "web_app", "request_location")
SEND = "send"
EDIT = "edit"


class OutboxWakeup:
    """Who to tell when this process writes outbox rows (the delivery workers' wake())."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add(self, listener: Listener) -> None:
        """Be called (with the lane) whenever rows are written where this wake-up is in use."""
        self._listeners.append(listener)

    def remove(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def announce(self, lane: Lane) -> None:
        """Call every listener; one that fails is logged and the others still run."""
        for listener in list(self._listeners):
            try:
                listener(lane)
            except Exception:
                logger.exception("outbox wake-up listener failed")


# The wake-up of the Outpost this code runs in: set by the wiring when its delivery worker
# starts, and inherited by every task created after that (handlers, scheduler jobs).
_wakeup: ContextVar[OutboxWakeup | None] = ContextVar("outbox_wakeup", default=None)


def use_wakeup(wakeup: OutboxWakeup) -> None:
    """Announce rows written from this context (and tasks created from it) to `wakeup`."""
    _wakeup.set(wakeup)


def _announce(lane: Lane) -> None:
    wakeup = _wakeup.get()
    if wakeup is not None:
        wakeup.announce(lane)


@dataclass(frozen=True)
class Attachment:
    """A document to send with a message (Telegram: sendDocument with the text as caption)."""

    file_name: str
    data: bytes
    mime_type: str = "application/octet-stream"


def button(
    text: str,
    *,
    callback_data: str | None = None,
    url: str | None = None,
    web_app: str | None = None,
    request_location: bool | None = None,
    **params: Any,
) -> dict[str, Any]:
    """One inline button: a msgid (with params) and exactly one action."""
    spec: dict[str, Any] = {"text": text}
    if params:
        spec["params"] = params
    for name, value in (
        ("callback_data", callback_data),
        ("url", url),
        ("web_app", web_app),
        ("request_location", request_location or None),
    ):
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
    if "request_location" in spec and spec["request_location"] is not True:
        raise InvalidInput("request_location is true or absent")


def _buttons(buttons: ButtonRows | None) -> list[list[dict[str, Any]]] | None:
    if not buttons:
        return None
    rows = [[dict(spec) for spec in row] for row in buttons]
    for row in rows:
        for spec in row:
            _check_button(spec)
    kinds = {bool(spec.get("request_location")) for row in rows for spec in row}
    if len(kinds) > 1:
        raise InvalidInput("a location request cannot share a message with inline buttons")
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
) -> list[OutboxMessage]:
    """Queue one message per person (a broadcast); keys are `{idempotency_key}/{person id}`.

    Returns the rows (with their ids), one per person; a key written before returns its
    first row, as with notify().
    """
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
    stored: list[OutboxMessage] = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        await outbox.insert_once(part)
        by_key = {
            row.idempotency_key: row
            for row in await OutboxMessage.filter(
                idempotency_key__in=[row.idempotency_key for row in part]
            )
        }
        stored.extend(by_key[row.idempotency_key] for row in part)
    if rows:
        _announce(Lane(lane))
    return stored


async def cancel(
    source_kind: str,
    source_id: int,
    *,
    clock: Clock,
    reason: str = "cancelled",
    key_prefix: str | None = None,
) -> int:
    """Cancel every message of one business object that has not gone out yet; returns how many.

    Runs on the caller's transaction. A row a worker has already claimed is cancelled too: the
    worker confirms its claim in the database right before each send and drops what it lost.
    With `key_prefix`, only rows whose idempotency key starts with it (one step of a source).
    """
    count = await outbox.cancel_pending(
        source_kind, source_id, now=clock.now(), reason=reason[:200], key_prefix=key_prefix
    )
    if count:
        logger.info("cancelled %d outbox message(s) of %s %s", count, source_kind, source_id)
    return count


async def edit(
    *,
    original: OutboxMessage | int,
    msgid: str,
    params: Mapping[str, Any] | None = None,
    buttons: ButtonRows | None = None,
    idempotency_key: str,
    clock: Clock,
    lane: Lane | None = None,
) -> OutboxMessage:
    """Queue an edit (text and buttons; none: the buttons go) of a message the outbox sent.

    The edit waits until the original is sent, and is dropped if the original failed or was
    cancelled. It belongs to the original's business object and goes to the same chat.
    """
    if isinstance(original, int):
        found = await OutboxMessage.get_or_none(id=original)
        if found is None:
            raise NotFound("no such outbox message")
        original = found
    if original.action != SEND:
        raise InvalidInput("only a sent message can be edited, not an edit")
    if Channel(original.channel) != Channel.TELEGRAM:
        raise InvalidInput("only Telegram messages can be edited")
    row = _row(
        recipient=original.address,
        channel=Channel.TELEGRAM,
        language=original.language,
        msgid=msgid,
        params=params,
        buttons=buttons,
        lane=Lane(original.lane) if lane is None else lane,
        idempotency_key=idempotency_key,
        source_kind=original.source_kind,
        source_id=original.source_id,
        now=clock.now(),
    )
    row.recipient_id = original.recipient_id  # type: ignore[attr-defined]
    row.action = EDIT
    row.edit_of_id = original.id
    await outbox.insert_once([row])
    stored = await OutboxMessage.get(idempotency_key=idempotency_key)
    _announce(Lane(stored.lane))
    return stored


async def messages_to_edit(source_kind: str, source_id: int, *, msgid: str) -> list[OutboxMessage]:
    """The Telegram messages of one business object written with `msgid` (to edit them)."""
    return [
        row
        for row in await outbox.messages_from(source_kind, source_id)
        if row.action == SEND and row.msgid == msgid and row.channel == Channel.TELEGRAM
    ]


@dataclass(frozen=True)
class DeliveryResult:
    """What finally became of one outbox message, told to the feature that wrote it."""

    message_id: int
    action: str
    source_kind: str | None
    source_id: int | None
    person_id: int | None
    channel: Channel
    lane: Lane
    at: datetime
    error_code: int | None = None
    reason: str | None = None
    # A failure that was handed on to the person's next channel (a new row).
    fallback_message_id: int | None = None


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
    action: str = SEND
    # The row this one replaced on the next channel after it failed for good.
    fallback_of: int | None = None


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
                action=row.action,
                fallback_of=row.fallback_of_id,
            )
        )
    return report


def unreached(report: Iterable[RecipientDelivery]) -> list[RecipientDelivery]:
    """The messages of a report that did not (yet) reach their recipient on any channel.

    A message that failed but was handed on to a next channel counts by that next message.
    """
    entries = list(report)
    handed_on = {entry.fallback_of for entry in entries if entry.fallback_of is not None}
    return [
        entry
        for entry in entries
        if entry.state != "delivered"
        and entry.action == SEND
        and entry.message_id not in handed_on
    ]
