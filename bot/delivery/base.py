"""What every channel sender gets and gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from db.enums import Channel, Lane

OutcomeKind = Literal["sent", "retry", "failed", "throttled"]


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for a channel: the address, the text in the recipient's language."""

    message_id: int
    channel: Channel
    lane: Lane
    address: str
    text: str
    # Rendered inline buttons: rows of {"text": ..., "callback_data" | "url" | "web_app": ...}.
    buttons: list[list[dict[str, Any]]] | None = None
    paid: bool = False
    # (file name, bytes): sent as a document with `text` as its caption.
    document: tuple[str, bytes] | None = None
    # An edit: the channel's id of the message to change (Telegram's message_id), and
    # whether that message is a document (its caption is edited, not a text).
    edit_of: str | None = None
    edit_caption: bool = False
    # Telegram's reply_markup as is (used instead of `buttons`), and the text's parse mode.
    reply_markup: dict[str, Any] | None = None
    parse_mode: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What the channel said: accepted, try later, never, or slow down."""

    kind: OutcomeKind
    external_id: str | None = None
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    # Telegram 403: the person blocked the bot.
    blocked: bool = False

    @classmethod
    def sent(cls, external_id: str | None = None, http_status: int | None = 200) -> Outcome:
        """The channel accepted the message."""
        return cls("sent", external_id=external_id, http_status=http_status)


class Sender(Protocol):
    """Delivers rendered messages on one channel; never raises for an expected failure."""

    channel: Channel
    # True when Telegram's flood limits apply (the limiter paces it).
    paced: bool

    async def start(self) -> None:
        """Open connections."""
        ...

    async def stop(self) -> None:
        """Close connections."""
        ...

    async def send(self, message: RenderedMessage) -> Outcome:
        """Try once to deliver `message`."""
        ...


def classify_http(status: int, description: str) -> Outcome:
    """An HTTP gateway's answer as an outcome: 2xx sent, 429/5xx retried, other 4xx final."""
    if 200 <= status < 300:
        return Outcome.sent(http_status=status)
    if status == 429:
        return Outcome("throttled", http_status=status, error=description, retry_after=None)
    if status >= 500 or status in (408,):
        return Outcome("retry", http_status=status, error=description)
    return Outcome("failed", http_status=status, error=description)
