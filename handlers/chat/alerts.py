"""/alert: compose a security alert (a flow), `/alert status [ID]`, the recipients' answer
buttons; /security: a field security report, and "Make an alert" under it."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.chat import flows
from handlers.chat.common import OutpostContext
from i18n import translate
from services import alerts
from services.alert_flow import ALERT_FLOW
from services.callbacks import AlertPress, SecurityToAlert, decode_as, pattern
from services.conversations import start_flow
from services.people import Actor
from services.security import SECURITY_FLOW, alert_answers


def render_status(language: str, alert: Any, tallies: list[alerts.StationTally]) -> str:
    """An alert's figures per station and who is silent or not reached."""
    lines = [translate(language, "alert.status.title", id=alert.id, title=alert.title)]
    for tally in tallies:
        lines.append(
            translate(
                language,
                "alert.status.row",
                station=tally.station,
                recipients=tally.recipients,
                answered=tally.answered,
                safe=tally.safe,
                help=tally.help,
                away=tally.away,
                silent=tally.silent,
                unreached=tally.unreached,
            )
        )
        if tally.silent_names:
            lines.append(
                translate(language, "alert.status.silent", names=", ".join(tally.silent_names))
            )
        if tally.unreached_names:
            lines.append(
                translate(
                    language, "alert.status.unreached", names=", ".join(tally.unreached_names)
                )
            )
    return "\n".join(lines)


async def _status(update: Update, context: OutpostContext, actor: Actor) -> None:
    message = update.effective_message
    if message is None:
        return
    args = list(context.args or [])[1:]
    if args and args[0].isdigit():
        alert_id = int(args[0])
    else:
        latest = await alerts.latest(actor)
        if latest is None:
            await message.reply_text(translate(actor.language, "alert.status.none"))
            return
        alert_id = latest.id
    alert, tallies = await alerts.status(actor, alert_id)
    await message.reply_text(render_status(actor.language, alert, tallies))


async def alert_command(update: Update, context: OutpostContext) -> None:
    """`/alert` opens the composer; `/alert status [ID]` shows where an alert stands."""
    actor = await alerts.require_sender(context.registered)
    if context.args and context.args[0].lower() == "status":
        await _status(update, context, actor)
        return
    await flows.start(update, context, ALERT_FLOW, actor)


async def alert_answered(update: Update, context: OutpostContext) -> None:
    """A recipient pressed [I am safe], [I need help] or [Not in the area]."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    press = decode_as(query.data, AlertPress)
    actor = context.registered
    await alerts.answer(
        telegram_id=user.id, alert_id=press.alert_id, reply=press.reply, clock=context.clock
    )
    text = translate(actor.language, f"alert.answered.{press.reply.value}")
    await query.answer(text)
    await context.bot.send_message(user.id, text)


async def security_command(update: Update, context: OutpostContext) -> None:
    """`/security` opens a field security report."""
    await flows.start(update, context, SECURITY_FLOW, context.registered)


async def report_to_alert(update: Update, context: OutpostContext) -> None:
    """ "Make an alert" under a field report: the composer opens pre-filled (the photo first)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    press = decode_as(query.data, SecurityToAlert)
    actor = context.registered
    report, answers = await alert_answers(actor, press.report_id)
    await query.answer()
    if report.photo_file_id:
        await context.bot.send_photo(user.id, report.photo_file_id)
    turn = await start_flow(
        ALERT_FLOW,
        telegram_id=user.id,
        person=actor.person,
        actor=actor,
        clock=context.clock,
        answers=answers,
    )
    await flows.send_turn(context.bot, user.id, actor.language, turn)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the alert handlers."""
    application.add_handler(CommandHandler("alert", alert_command))
    application.add_handler(CallbackQueryHandler(alert_answered, pattern=pattern(AlertPress)))
    application.add_handler(CommandHandler("security", security_command))
    application.add_handler(
        CallbackQueryHandler(report_to_alert, pattern=pattern(SecurityToAlert))
    )
