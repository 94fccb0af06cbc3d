"""/leave: ask for leave; the decider's approve and refuse buttons."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.chat.common import OutpostContext
from i18n import translate
from services.callbacks import LeaveVerdict, decode_as, pattern
from services.leave import MAX_BACKDATE, decide_leave, request_leave
from services.people import station_today

DATE = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})$")


def parse_day(text: str, today: date) -> date | None:
    """2026-12-01, or 12-01: this year's, unless that is further back than a leave may start
    (then next year's), so `/leave 03-04` on 5 March explains yesterday."""
    match = DATE.match(text)
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        parsed = date(int(year or today.year), int(month), int(day))
    except ValueError:
        return None
    if year is None and parsed < today - MAX_BACKDATE:
        try:
            parsed = parsed.replace(year=today.year + 1)
        except ValueError:  # 29 February
            return None
    return parsed


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
    """File a leave request from `/leave 2026-12-01 2026-12-03 reason`."""
    message = update.effective_message
    if message is None:
        return
    actor, clock = context.registered, context.clock
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
