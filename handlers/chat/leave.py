"""/leave: ask for leave; the decider's approve and refuse buttons."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from db.enums import RequestStatus
from db.models import LeaveRequest, Person
from handlers.chat import flows
from handlers.chat.common import OutpostContext
from i18n import count_days, translate
from services.callbacks import LeaveNew, LeaveVerdict, LeaveWithdraw, decode_as, encode, pattern
from services.conversations import start_flow
from services.leave import (
    decide_leave,
    leave_dates,
    my_requests,
    parse_day,
    pending_for_decider,
    request_leave,
    withdraw_leave,
)
from services.leave_flow import LEAVE_FLOW, REFUSAL_FLOW
from services.people import Actor, station_today


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
    """`/leave` alone lists the person's own requests with a button for a new one (or opens
    the leave flow when there are none); `/leave 2026-12-24 2026-12-27 reason` files at once."""
    message = update.effective_message
    if message is None:
        return
    actor, clock = context.registered, context.clock
    if not context.args:
        listed = await my_requests(actor=actor, clock=clock)
        if not listed:
            await flows.start(update, context, LEAVE_FLOW, actor)
            return
        text, markup = _list_view(actor, listed)
        await message.reply_text(text, reply_markup=markup)
        return
    parsed = parse_leave(list(context.args or []), await station_today(actor, clock))
    if parsed is None:
        await message.reply_text(translate(actor.language, "leave.usage"))
        return
    start, end, reason = parsed
    await request_leave(actor=actor, start=start, end=end, reason=reason, clock=clock)
    await message.reply_text(
        translate(actor.language, "leave.filed", dates=leave_dates(actor.language, start, end))
    )


def _dates(language: str, leave: LeaveRequest) -> str:
    return leave_dates(language, leave.start_date, leave.end_date)


def _list_view(actor: Actor, listed: list[LeaveRequest]) -> tuple[str, InlineKeyboardMarkup]:
    """The person's requests, each with its state; a withdraw button per pending one."""
    language = actor.language
    lines = [translate(language, "leave.list.title")]
    rows: list[list[InlineKeyboardButton]] = []
    for leave in listed:
        days = count_days(language, (leave.end_date - leave.start_date).days + 1)
        lines.append(
            translate(
                language,
                "leave.list.line",
                dates=_dates(language, leave),
                days=days,
                state=translate(language, f"leave.state.{leave.status.value}"),
            )
        )
        if leave.status == RequestStatus.PENDING:
            rows.append(
                [
                    InlineKeyboardButton(
                        translate(language, "leave.list.withdraw", dates=_dates(language, leave)),
                        callback_data=encode(LeaveWithdraw(leave.id)),
                    )
                ]
            )
    rows.append(
        [
            InlineKeyboardButton(
                translate(language, "leave.list.new"), callback_data=encode(LeaveNew())
            )
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def leave_new(update: Update, context: OutpostContext) -> None:
    """ "New request" under the list: open the leave flow."""
    query = update.callback_query
    if query is None:
        return
    decode_as(query.data, LeaveNew)
    await query.answer()
    await flows.start(update, context, LEAVE_FLOW, context.registered)


async def leave_withdrawn(update: Update, context: OutpostContext) -> None:
    """The requester withdraws a pending request; the list shows it withdrawn."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, LeaveWithdraw)
    actor = context.registered
    await withdraw_leave(actor=actor, leave_id=button.leave_id, clock=context.clock)
    await query.answer(translate(actor.language, "leave.withdrawn"))
    if isinstance(query.message, Message):
        text, markup = _list_view(actor, await my_requests(actor=actor, clock=context.clock))
        await query.edit_message_text(text, reply_markup=markup)


async def leave_decided(update: Update, context: OutpostContext) -> None:
    """A decider pressed approve or refuse; the database says whether they may. Refuse asks
    for the reason first (or "no reason")."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, LeaveVerdict)
    actor = context.registered
    if not button.approve:
        leave = await pending_for_decider(actor, button.leave_id)
        requester = await Person.get(id=leave.person_id)
        await query.answer()
        turn = await start_flow(
            REFUSAL_FLOW,
            telegram_id=actor.person.telegram_id,
            person=actor.person,
            actor=actor,
            clock=context.clock,
            answers={"leave_id": leave.id, "name": requester.name},
        )
        await flows.send_turn(context.bot, actor.person.telegram_id, actor.language, turn)
        return
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
    application.add_handler(CallbackQueryHandler(leave_new, pattern=pattern(LeaveNew)))
    application.add_handler(CallbackQueryHandler(leave_withdrawn, pattern=pattern(LeaveWithdraw)))
