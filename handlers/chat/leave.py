"""/leave: ask for leave; the decider's approve and refuse buttons."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.chat import flows
from handlers.chat.common import actor_of, actor_or_refuse, clock_of
from i18n import translate
from services.errors import Conflict, DomainError
from services.leave import decide_leave, parse_day, request_leave
from services.leave_flow import LEAVE_FLOW
from services.people import station_today


def parse_leave(args: list[str], today: date) -> tuple[date, date, str] | None:
    """`START [END] REASON...` → (start, end, reason), or None when it does not parse."""
    if not args:
        return None
    start = parse_day(args[0], today)
    if start is None:
        return None
    end = parse_day(args[1], today) if len(args) > 1 else None
    reason_words = args[2:] if end is not None else args[1:]
    return start, end or start, " ".join(reason_words)


async def leave_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/leave` alone opens the leave flow; `/leave 2026-12-24 2026-12-27 reason` files at once."""
    message = update.effective_message
    actor = await actor_or_refuse(update, context)
    if actor is None or message is None:
        return
    clock = clock_of(context)
    if not context.args:
        await flows.start(update, context, LEAVE_FLOW, actor)
        return
    parsed = parse_leave(list(context.args or []), await station_today(actor, clock))
    if parsed is None:
        await message.reply_text(translate(actor.language, "leave.usage"))
        return
    start, end, reason = parsed
    try:
        await request_leave(actor=actor, start=start, end=end, reason=reason, clock=clock)
    except DomainError as error:
        await message.reply_text(translate(actor.language, error.msgid, **error.params))
        return
    await message.reply_text(
        translate(actor.language, "leave.filed", start=start.isoformat(), end=end.isoformat())
    )


async def leave_decided(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A decider pressed approve or refuse; the database says whether they may."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, verdict, leave_id = query.data.split(":")
    actor = await actor_of(context, query.from_user.id)
    if actor is None:
        await query.answer(translate(query.from_user.language_code, "error.not_allowed"))
        return
    clock = clock_of(context)
    try:
        decision = await decide_leave(
            actor=actor, leave_id=int(leave_id), approve=verdict == "ok", clock=clock
        )
    except DomainError as error:
        await query.answer(translate(actor.language, error.msgid, **error.params), show_alert=True)
        # A decided request keeps no live buttons; a refused press changes nothing.
        message = query.message
        if isinstance(error, Conflict) and isinstance(message, Message) and message.reply_markup:
            await query.edit_message_reply_markup(reply_markup=None)
        return
    await query.answer()
    if isinstance(query.message, Message) and query.message.text:
        verdict_key = "leave.you_approved" if decision.approved else "leave.you_refused"
        await query.edit_message_text(
            f"{query.message.text}\n\n{translate(actor.language, verdict_key)}"
        )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the leave handlers."""
    application.add_handler(CommandHandler("leave", leave_command))
    application.add_handler(CallbackQueryHandler(leave_decided, pattern=r"^leave:(ok|no):\d+$"))
