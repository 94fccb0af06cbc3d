"""The bot handlers talk to: replies captured while an update is handled, direct calls
retried when Telegram fails."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup, Update

from bot.replies import start_capture, stop_capture
from services.clock import ManualClock
from tests.auxil.inbox import inbox_application


async def _nothing(update: Update, context: Any) -> None:
    """Not used: these tests call the bot directly."""


async def test_sends_during_a_handling_are_recorded_not_sent(db: str) -> None:
    """sendMessage and sendDocument become replies (markup as Telegram's JSON); nothing goes out
    until the capture ends."""
    async with inbox_application(_nothing) as (application, server):
        ada = server.add_person(7, "Ada", "en")
        keyboard = ReplyKeyboardMarkup([["📍"]], resize_keyboard=True)
        capture, token = start_capture(42)
        try:
            message = await application.bot.send_message(7, "hello", reply_markup=keyboard)
            await application.bot.send_document(7, b"a;b\n", filename="x.csv", caption="sheet")
        finally:
            stop_capture(token)
        assert message.text == "hello"
        assert message.message_id == -1
        assert ada.messages == []
        first, second = capture.replies
        assert (first.chat_id, first.text, first.reply_markup) == (
            "7",
            "hello",
            {
                "keyboard": [[{"text": "📍"}]],
                "resize_keyboard": True,
            },
        )
        assert (second.text, second.document) == ("sheet", ("x.csv", b"a;b\n", "text/csv"))
        await application.bot.send_message(7, "direct again")
        assert [m.raw_text for m in ada.messages] == ["direct again"]


async def test_a_direct_call_that_meets_a_500_is_tried_again(db: str, clock: ManualClock) -> None:
    """Outside a capture the call goes out; a 502 is retried, the person gets one message."""
    async with inbox_application(_nothing) as (application, server):
        ada = server.add_person(7, "Ada", "en")
        server.sandbox.faults.add("server_error", methods=["sendMessage"], times=1)
        await application.bot.send_message(7, "after a retry")
        assert [m.raw_text for m in ada.messages] == ["after a retry"]


async def test_an_edit_that_changes_nothing_counts_as_done(db: str) -> None:
    """Handled again after a crash, an edit meets "message is not modified": done, no error."""
    async with inbox_application(_nothing) as (application, server):
        ada = server.add_person(7, "Ada", "en")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x")]])
        sent = await application.bot.send_message(7, "card", reply_markup=markup)
        await application.bot.edit_message_text("decided", chat_id=7, message_id=sent.message_id)
        again = await application.bot.edit_message_text(
            "decided", chat_id=7, message_id=sent.message_id
        )
        assert again is True
        assert ada.messages[-1].raw_text == "decided"
        server.sandbox.acknowledge("message is not modified")


async def test_a_button_answered_once_is_not_answered_again(db: str) -> None:
    """An update handled again (after a database fault) answers its button once: the second
    answer would be refused by Telegram ("query is too old")."""
    async with inbox_application(_nothing) as (application, server):
        ada = server.add_person(7, "Ada", "en")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x")]])
        await application.bot.send_message(7, "card", reply_markup=markup)
        pressed = ada.press("ok")
        query_id = next(iter(server.sandbox.callback_queries))
        assert await application.bot.answer_callback_query(query_id, text="first") is True
        assert await application.bot.answer_callback_query(query_id, text="again") is True
        assert (await pressed.wait_answer()).text == "first"
        answers = [r for r in server.sandbox.requests if r[1] == "answerCallbackQuery"]
        assert len(answers) == 1
