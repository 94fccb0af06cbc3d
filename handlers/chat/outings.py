"""/outing, /back, /late, /outings and the buttons of an outing (services/outings.py decides)."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.chat import flows
from handlers.chat.common import OutpostContext
from i18n import format_clock, format_distance, translate
from services.callbacks import (
    OutingMove,
    OutingNotMe,
    OutingReply,
    OutingVerdict,
    decode_as,
    pattern,
)
from services.localtime import station_zone
from services.outing_flow import (
    BACK_FLOW,
    LATE_FLOW,
    OUTING_FLOW,
    QUESTION_FLOW,
    REFUSAL_FLOW,
    REPLY_FLOW,
    one_line,
)
from services.outings import (
    Returned,
    back_lately,
    check_decider,
    check_reply,
    come_back,
    decide_outing,
    i_am_ok,
    leave_now,
    map_link,
    more_time,
    need_help,
    not_me,
    parse_when,
    report_late,
    station_of,
    who_is_out,
)


async def outing_command(update: Update, context: OutpostContext) -> None:
    """`/outing` asks step by step; `/outing Ikeja market, back 16:30` asks only what is
    missing."""
    actor = context.registered
    text = " ".join(context.args or [])
    if not text.strip():
        await flows.start(update, context, OUTING_FLOW, actor)
        return
    answers, step = await one_line(actor, text, now=context.clock.now())
    await flows.start(update, context, OUTING_FLOW, actor, answers=answers, step=step)


async def _mark(update: Update, line: str) -> None:
    """Add a line to the pressed message and take its buttons away."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.text:
        await query.edit_message_text(f"{query.message.text}\n\n{line}")


async def verdict_pressed(update: Update, context: OutpostContext) -> None:
    """Approve (decided now), refuse (the reason asked first) or ask a question."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, OutingVerdict)
    actor, clock = context.registered, context.clock
    if button.verdict == OutingVerdict.APPROVE:
        decision = await decide_outing(
            actor=actor, outing_id=button.outing_id, approve=True, clock=clock
        )
        await query.answer()
        msgid = (
            "outing.you_approved_first"
            if decision.verdict == "first_approved"
            else "outing.you_approved"
        )
        await _mark(update, translate(actor.language, msgid))
        return
    await check_decider(actor, button.outing_id, clock=clock)
    await query.answer()
    flow = REFUSAL_FLOW if button.verdict == OutingVerdict.REFUSE else QUESTION_FLOW
    await flows.start(update, context, flow, actor, answers={"outing": button.outing_id})


async def reply_pressed(update: Update, context: OutpostContext) -> None:
    """The requester answers a decider's question."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, OutingReply)
    actor = context.registered
    await check_reply(actor, button.outing_id, button.asker_id)
    await query.answer()
    await flows.start(
        update,
        context,
        REPLY_FLOW,
        actor,
        answers={"outing": button.outing_id, "asker": button.asker_id},
    )


async def move_pressed(update: Update, context: OutpostContext) -> None:
    """Leaving now, back, more time, help, I'm OK."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, OutingMove)
    actor, clock = context.registered, context.clock
    language = actor.language
    outing_id = button.outing_id
    returned: Returned | None = None
    if button.move == OutingMove.LEAVING:
        outing = await leave_now(actor=actor, outing_id=outing_id, clock=clock)
        zone = station_zone(await station_of(actor))
        text = translate(
            language,
            "outing.left",
            returns=format_clock(language, outing.expected_return_at, zone),
        )
    elif button.move == OutingMove.BACK:
        returned = await come_back(actor=actor, outing_id=outing_id, clock=clock)
        text = _welcome(language, returned)
    elif button.move == OutingMove.MORE_TIME:
        outing = await more_time(actor=actor, outing_id=outing_id, clock=clock)
        zone = station_zone(await station_of(actor))
        text = translate(
            language,
            "outing.late_noted",
            returns=format_clock(language, outing.expected_return_at, zone),
        )
    elif button.move == OutingMove.HELP:
        await need_help(actor=actor, outing_id=outing_id, clock=clock)
        text = translate(language, "outing.help_sent")
    else:
        await i_am_ok(actor=actor, outing_id=outing_id, clock=clock)
        text = translate(language, "outing.ok_noted")
    await query.answer()
    if button.move in (OutingMove.BACK, OutingMove.HELP, OutingMove.OK):
        await _mark(update, text)
    else:
        await context.bot.send_message(actor.person.telegram_id, text)
    if returned is not None:
        await _ask_where(update, context, returned)


async def not_me_pressed(update: Update, context: OutpostContext) -> None:
    """A companion is not going after all."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, OutingNotMe)
    actor = context.registered
    await not_me(actor=actor, outing_id=button.outing_id, clock=context.clock)
    await query.answer()
    await _mark(update, translate(actor.language, "outing.not_me_noted"))


def _welcome(language: str, returned: Returned) -> str:
    text = translate(language, "outing.welcome_back")
    if returned.distance_m is not None:
        text += "\n" + translate(
            language,
            "outing.back_distance",
            distance=format_distance(language, returned.distance_m),
        )
    return text


async def _ask_where(update: Update, context: OutpostContext, returned: Returned) -> None:
    """The outing is closed already; when no fresh position said where, ask for one (or Skip)
    so the distance from the station is recorded."""
    if returned.distance_m is not None or returned.outing.station_id is None:
        return
    await flows.start(
        update, context, BACK_FLOW, context.registered, answers={"outing": returned.outing.id}
    )


async def back_command(update: Update, context: OutpostContext) -> None:
    """`/back`: the open outing closes at once; then where the person is, if not known."""
    message = update.effective_message
    if message is None:
        return
    actor = context.registered
    returned = await come_back(actor=actor, clock=context.clock)
    await message.reply_text(_welcome(actor.language, returned))
    await _ask_where(update, context, returned)


async def late_command(update: Update, context: OutpostContext) -> None:
    """`/late 17:30 traffic` gives a new return time; `/late` alone asks for it."""
    message = update.effective_message
    if message is None:
        return
    actor, clock = context.registered, context.clock
    args = list(context.args or [])
    if not args:
        await flows.start(update, context, LATE_FLOW, actor)
        return
    zone = station_zone(await station_of(actor))
    returns = parse_when(args[0], base=clock.now(), zone=zone)
    if returns is None or len(args) < 2:
        await message.reply_text(translate(actor.language, "outing.late_usage"))
        return
    outing = await report_late(
        actor=actor, returns_at=returns, reason=" ".join(args[1:]), clock=clock
    )
    await message.reply_text(
        translate(
            actor.language,
            "outing.late_noted",
            returns=format_clock(actor.language, outing.expected_return_at, zone),
        )
    )


async def outings_command(update: Update, context: OutpostContext) -> None:
    """Who is out now: overdue first, where, since when, due when, a map link."""
    message = update.effective_message
    if message is None:
        return
    actor = context.registered
    lines = await who_is_out(actor=actor, clock=context.clock)
    back = await back_lately(actor=actor, clock=context.clock)
    language = actor.language
    rows = [
        translate(language, "outing.list_title", count=len(lines))
        if lines
        else translate(language, "outing.list_empty")
    ]
    for line in lines:
        rows.append(
            translate(
                language,
                "outing.list_overdue" if line.overdue else "outing.list_line",
                name=line.person.name,
                destination=line.outing.destination,
                since=format_clock(language, line.since, line.zone),
                due=format_clock(language, line.outing.expected_return_at, line.zone),
                map=map_link(line.outing),
            )
        )
    if back:
        rows.append(translate(language, "outing.list_back_title", count=len(back)))
    for returned in back:
        at = format_clock(
            language, returned.outing.returned_at or context.clock.now(), returned.zone
        )
        if returned.distance_m is None:
            rows.append(
                translate(
                    language,
                    "outing.list_back_line",
                    name=returned.person.name,
                    destination=returned.outing.destination,
                    at=at,
                )
            )
        else:
            rows.append(
                translate(
                    language,
                    "outing.list_back_distance",
                    name=returned.person.name,
                    destination=returned.outing.destination,
                    at=at,
                    distance=format_distance(language, returned.distance_m),
                )
            )
    await message.reply_text("\n\n".join(rows), disable_web_page_preview=True)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the outing handlers."""
    application.add_handler(CommandHandler("outing", outing_command))
    application.add_handler(CommandHandler("back", back_command))
    application.add_handler(CommandHandler("late", late_command))
    application.add_handler(CommandHandler("outings", outings_command))
    application.add_handler(CallbackQueryHandler(verdict_pressed, pattern=pattern(OutingVerdict)))
    application.add_handler(CallbackQueryHandler(move_pressed, pattern=pattern(OutingMove)))
    application.add_handler(CallbackQueryHandler(reply_pressed, pattern=pattern(OutingReply)))
    application.add_handler(CallbackQueryHandler(not_me_pressed, pattern=pattern(OutingNotMe)))
