"""/leave: ask for leave; the decider's approve and refuse buttons."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.chat import flows
from handlers.chat.common import OutpostContext
from i18n import translate
from services.callbacks import LeaveVerdict, decode_as, pattern
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


async def leave_command(update: Update, context: OutpostContext) -> None:
    """`/leave` alone opens the leave flow; `/leave 2026-12-24 2026-12-27 reason` files at once."""
    message = update.effective_message
    if message is None:
        return
    actor, clock = context.registered, context.clock
    if not context.args:
        await flows.start(update, context, LEAVE_FLOW, actor)
        return
    parsed = parse_leave(list(context.args or []), await station_today(actor, clock))
    if parsed is None:
        await message.reply_text(translate(actor.language, "leave.usage"))
        return
    start, end, reason = parsed
    await request_leave(actor=actor, start=start, end=end, reason=reason, clock=clock)
    await message.reply_text(
        translate(actor.language, "leave.filed", start=start.isoformat(), end=end.isoformat())
    )


async def leave_decided(update: Update, context: OutpostContext) -> None:
    """A decider pressed approve or refuse; the database says whether they may."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, LeaveVerdict)
    actor = context.registered
    decision = await decide_leave(
        actor=actor, leave_id=button.leave_id, approve=button.approve, clock=context.clock
    )
    await query.answer()
    if isinstance(query.message, Message) and query.message.text:
        verdict_key = "leave.you_approved" if decision.approved else "leave.you_refused"
        await query.edit_message_text(
            f"{query.message.text}\n\n{translate(actor.language, verdict_key)}"
        )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the leave handlers."""
    application.add_handler(CommandHandler("leave", leave_command))
    application.add_handler(CallbackQueryHandler(leave_decided, pattern=pattern(LeaveVerdict)))
