"""Typed reading of sandbox chat messages: what a test asserts on is text, never None."""

from __future__ import annotations

from bot.sandbox import ChatMessage


def text_of(message: ChatMessage) -> str:
    """The text or caption of `message`; fails the test, naming the message, if it has neither.

    `ChatMessage.raw_text` is `str | None` because a photo without a caption or a location has
    no text; a test that reads a reply as text means the reply must have some.
    """
    text = message.raw_text
    assert text is not None, f"message {message.message_id} has no text: {message.data!r}"
    return text
