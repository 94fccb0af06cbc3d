"""Conversations in the chat: show a step's question, take answers, /cancel, and a useful
line for anything sent outside a flow (services/conversations.py holds the rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from handlers.chat import sos
from handlers.chat.common import OutpostContext
from i18n import translate
from services.conversations import (
    Answer,
    AnswerKind,
    Flow,
    Prompt,
    Text,
    Turn,
    TurnKind,
    cancel_flow,
    flow_button_data,
    flow_named,
    parse_flow_button,
    start_flow,
    take_answer,
    wants_location,
)
from services.emergency import is_sos_text
from services.invites import registering, resume_registration
from services.people import Actor, access

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def say(language: str | None, text: Text) -> str:
    """A Text in the reader's language."""
    return translate(language, text.msgid, **text.params)


def keyboard(language: str | None, turn: Turn, prompt: Prompt) -> Markup:
    """The prompt's buttons: inline choices carrying flow callback data, or the contact button,
    or the location button with the choices beside it on the reply keyboard."""
    if prompt.location_button is not None:
        return ReplyKeyboardMarkup(
            [
                [
                    KeyboardButton(
                        translate(language, prompt.location_button), request_location=True
                    )
                ],
                *[
                    [
                        KeyboardButton(
                            choice.label
                            if choice.literal
                            else translate(language, choice.label, **choice.params)
                        )
                        for choice in row
                    ]
                    for row in prompt.choices
                ],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if prompt.contact_button is not None:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(translate(language, prompt.contact_button), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if not prompt.choices or turn.conversation_id is None or turn.version is None:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    choice.label
                    if choice.literal
                    else translate(language, choice.label, **choice.params),
                    callback_data=flow_button_data(
                        turn.conversation_id, turn.version, choice.value
                    ),
                )
                for choice in row
            ]
            for row in prompt.choices
        ]
    )


async def send_turn(bot: Bot, chat_id: int, language: str | None, turn: Turn) -> None:
    """Say what an answer led to: a note, the reason for asking again, the next question, or
    the flow's end."""
    language = turn.language or language
    if turn.note is not None:
        await bot.send_message(
            chat_id, say(language, turn.note), reply_markup=ReplyKeyboardRemove()
        )
    if turn.reason is not None:
        await bot.send_message(chat_id, say(language, turn.reason))
    if turn.prompt is not None:
        await bot.send_message(
            chat_id,
            say(language, turn.prompt.text),
            reply_markup=keyboard(language, turn, turn.prompt),
        )
    if turn.text is not None:
        await bot.send_message(
            chat_id, say(language, turn.text), reply_markup=_closing_keyboard(language, turn)
        )


def _closing_keyboard(language: str | None, turn: Turn) -> ReplyKeyboardMarkup | None:
    """The usual check-in keyboard again when a flow that showed its own reply keyboard ends."""
    flow = flow_named(turn.flow) if turn.flow is not None else None
    if flow is None or not flow.restore_keyboard or turn.kind == TurnKind.REASK:
        return None
    # Imported here: the check-in handlers route locations through this module.
    from handlers.chat.attendance import checkin_keyboard

    return checkin_keyboard(language or "en")


def answer_of(message: Message) -> Answer:
    """What a message answers a step with (OTHER for what no step takes, such as a sticker)."""
    if message.contact is not None:
        return Answer(
            AnswerKind.CONTACT,
            phone=message.contact.phone_number,
            contact_user_id=message.contact.user_id,
        )
    if message.location is not None:
        return Answer(
            AnswerKind.LOCATION,
            lat=message.location.latitude,
            lon=message.location.longitude,
            sent_at=message.edit_date or message.date,
            forwarded=message.forward_origin is not None,
        )
    if message.photo:
        return Answer(
            AnswerKind.PHOTO, text=message.caption or "", file_id=message.photo[-1].file_id
        )
    if message.document is not None:
        return Answer(
            AnswerKind.DOCUMENT, text=message.caption or "", file_id=message.document.file_id
        )
    if message.text is not None:
        return Answer(AnswerKind.TEXT, text=message.text)
    return Answer(AnswerKind.OTHER)


async def start(
    update: Update,
    context: OutpostContext,
    flow: Flow,
    actor: Actor,
    *,
    answers: Mapping[str, Any] | None = None,
    step: str | None = None,
) -> None:
    """Open `flow` for the actor (with answers already given) and ask its first question."""
    turn = await start_flow(
        flow,
        telegram_id=actor.person.telegram_id,
        person=actor.person,
        actor=actor,
        clock=context.clock,
        answers=answers,
        step=step,
    )
    await send_turn(context.bot, actor.person.telegram_id, actor.language, turn)


async def _outside(message: Message, actor: Actor, answer: Answer) -> None:
    """Nothing is under way: point at /help and the main actions, never stay silent."""
    files = (AnswerKind.PHOTO, AnswerKind.DOCUMENT)
    msgid = "outside.file" if answer.kind in files else "outside.text"
    await message.reply_text(translate(actor.language, msgid))


async def on_message(update: Update, context: OutpostContext) -> None:
    """Text, a photo, a document or a contact: an answer to the flow under way, else a
    useful line (the emergency numbers for "SOS")."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    answer = answer_of(message)
    actor = context.actor
    if actor is not None and answer.kind == AnswerKind.TEXT and is_sos_text(answer.text):
        # An emergency comes before any question, and is never taken as an answer to one.
        await sos.raise_alarm(message, context)
        return
    clock = context.clock
    turn = await take_answer(user.id, answer, actor=actor, clock=clock)
    if turn.kind == TurnKind.NO_FLOW and actor is None:
        person = await registering(user.id)
        if person is not None:  # registering since before conversations were kept
            await resume_registration(person, clock)
            turn = await take_answer(user.id, answer, actor=actor, clock=clock)
    if turn.kind == TurnKind.NO_FLOW:
        if actor is not None and not await sos.relay(message, actor, context):
            await _outside(message, actor, answer)
        return
    await send_turn(context.bot, user.id, actor.language if actor else user.language_code, turn)
    await _after(context, user.id, turn)


async def take_location(update: Update, context: OutpostContext) -> bool:
    """A shared location given to the flow under way when its step takes one (an outing's
    destination); False when no step wanted it (then it is a check-in)."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.location is None:
        return False
    if not await wants_location(user.id, context.clock):
        return False
    actor = context.actor
    turn = await take_answer(user.id, answer_of(message), actor=actor, clock=context.clock)
    await send_turn(context.bot, user.id, actor.language if actor else user.language_code, turn)
    return True


async def on_press(update: Update, context: OutpostContext) -> None:
    """A button of a flow: answered always, an old one with a short reason."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    actor = context.actor
    language = actor.language if actor else user.language_code
    press = parse_flow_button(query.data or "")
    if press is None:
        await query.answer(translate(language, "flow.press_finished"))
        return
    answer = Answer(AnswerKind.CHOICE, text=press.value)
    turn = await take_answer(user.id, answer, actor=actor, clock=context.clock, press=press)
    message = query.message
    if turn.kind == TurnKind.STALE:
        await query.answer(say(language, turn.reason or Text("flow.press_old")))
    else:
        await query.answer()
    if isinstance(message, Message) and _carries(message, query.data or ""):
        # The question is answered (or dead): its buttons go, so they cannot be pressed again.
        await query.edit_message_reply_markup(reply_markup=None)
    if turn.kind != TurnKind.STALE:
        await send_turn(context.bot, user.id, language, turn)
        await _after(context, user.id, turn)


def _carries(message: Message, data: str) -> bool:
    """True when `message` shows a button with this data: a crafted press attached to another
    message (a decider's card) must not strip that message's buttons."""
    markup = message.reply_markup
    return markup is not None and any(
        button.callback_data == data for row in markup.inline_keyboard for button in row
    )


async def _after(context: OutpostContext, telegram_id: int, turn: Turn) -> None:
    """A finished registration shows the person their command menu."""
    if turn.kind == TurnKind.DONE and turn.flow == "registration":
        fresh = await access(telegram_id)
        if fresh.actor is not None:
            context.menus.notice(fresh.actor)


async def cancel(update: Update, context: OutpostContext) -> None:
    """Leave whatever flow is under way and say what was dropped."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    actor = context.actor
    language = actor.language if actor else user.language_code
    turn = await cancel_flow(user.id, clock=context.clock)
    if turn.kind == TurnKind.NO_FLOW:
        await message.reply_text(translate(language, "cancel.nothing"))
        return
    await send_turn(context.bot, user.id, language, turn)
