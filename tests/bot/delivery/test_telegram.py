"""How rendered buttons become Telegram keyboards."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.delivery.telegram import inline_keyboard, reply_markup


def test_a_location_request_becomes_the_keyboard_under_the_message_box() -> None:
    """One tap shares the location: a persistent reply keyboard, not an inline button."""
    markup = reply_markup([[{"text": "📍 Check in", "request_location": True}]])
    assert isinstance(markup, ReplyKeyboardMarkup)
    (button,) = markup.keyboard[0]
    assert (button.text, button.request_location) == ("📍 Check in", True)
    assert markup.is_persistent
    assert markup.resize_keyboard


def test_other_buttons_stay_inline_and_an_edit_drops_a_location_request() -> None:
    """Callback buttons are inline; an edit (inline only) leaves a location request out."""
    markup = reply_markup([[{"text": "OK", "callback_data": "ci1"}]])
    assert isinstance(markup, InlineKeyboardMarkup)
    assert markup.inline_keyboard[0][0].callback_data == "ci1"
    assert inline_keyboard([[{"text": "📍", "request_location": True}]]) is None
    assert reply_markup(None) is None
