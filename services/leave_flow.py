"""/leave from a phone: first day, last day, reason, summary, send (services.leave files it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from i18n import count_days, format_day
from services.conversations import (
    BACK,
    CANCEL,
    Answer,
    AnswerKind,
    Choice,
    Finished,
    Flow,
    FlowState,
    Moved,
    Prompt,
    Step,
    Text,
)
from services.errors import Conflict, InvalidInput, NotAllowed
from services.leave import (
    check_days,
    check_reason,
    check_start,
    decide_leave,
    leave_dates,
    parse_day,
    request_leave,
)
from services.people import Actor, station_today

OTHER, SEND = "other", "send"
# Buttons offered for the first day (today + n) and for the last day (first day + n).
DAY_OFFSETS = (0, 1, 2)
TYPED = frozenset({AnswerKind.CHOICE, AnswerKind.TEXT})
TEXT = frozenset({AnswerKind.TEXT})


def _actor(state: FlowState) -> Actor:
    if state.actor is None:
        raise NotAllowed("leave needs a registered person")
    return state.actor


def _day(state: FlowState, key: str) -> date:
    return date.fromisoformat(state.answers[key])


def _navigation(*, back: bool = True) -> list[Choice]:
    row = [Choice(BACK, "flow.button.back")] if back else []
    return [*row, Choice(CANCEL, "flow.button.cancel")]


async def _ask_start(state: FlowState) -> Prompt:
    today = await station_today(_actor(state), state.clock)
    labels = ("leave.flow.today", "leave.flow.tomorrow", "leave.flow.day_after")
    return Prompt(
        Text("leave.flow.ask_start"),
        [
            [
                Choice(f"d{n}", label, {"day": format_day(state.language, today + timedelta(n))})
                for n, label in zip(DAY_OFFSETS, labels, strict=True)
            ],
            [Choice(OTHER, "leave.flow.other_date")],
            _navigation(back=False),
        ],
    )


async def _typed_day(state: FlowState, answer: Answer) -> date:
    day = parse_day(answer.text, await station_today(_actor(state), state.clock))
    if day is None:
        raise InvalidInput("unreadable date", msgid="leave.flow.bad_date")
    return day


def _offset(value: str, prefix: str) -> int | None:
    if len(value) == 2 and value[0] == prefix and value[1].isdigit():
        offset = int(value[1])
        return offset if offset in DAY_OFFSETS else None
    return None


async def _check_start(state: FlowState, answer: Answer) -> Moved:
    actor = _actor(state)
    if answer.kind == AnswerKind.CHOICE:
        if answer.text == OTHER:
            return Moved(goto="start_typed")
        offset = _offset(answer.text, "d")
        if offset is None:
            raise InvalidInput("unknown button", msgid="flow.expects.choice")
        start = await station_today(actor, state.clock) + timedelta(days=offset)
    else:
        start = await _typed_day(state, answer)
    await check_start(actor, start, state.clock)
    return Moved({"start": start.isoformat(), "end": None}, goto="end")


async def _ask_start_typed(state: FlowState) -> Prompt:
    return Prompt(Text("leave.flow.type_start"), [_navigation()])


async def _check_typed_start(state: FlowState, answer: Answer) -> Moved:
    start = await _typed_day(state, answer)
    await check_start(_actor(state), start, state.clock)
    return Moved({"start": start.isoformat(), "end": None}, goto="end")


async def _ask_end(state: FlowState) -> Prompt:
    start = _day(state, "start")
    choices = [
        Choice(
            f"e{n}",
            "leave.flow.end_same" if n == 0 else "leave.flow.end_plus",
            {
                "day": format_day(state.language, start + timedelta(n)),
                "days": count_days(state.language, n + 1),
            },
        )
        for n in DAY_OFFSETS
    ]
    return Prompt(
        Text("leave.flow.ask_end", {"start": format_day(state.language, start)}),
        [choices, [Choice(OTHER, "leave.flow.other_date")], _navigation()],
    )


async def _end(state: FlowState, end: date) -> Moved:
    await check_days(_actor(state), _day(state, "start"), end)
    return Moved({"end": end.isoformat()}, goto="reason")


async def _check_end(state: FlowState, answer: Answer) -> Moved:
    if answer.kind == AnswerKind.CHOICE:
        if answer.text == OTHER:
            return Moved(goto="end_typed")
        offset = _offset(answer.text, "e")
        if offset is None:
            raise InvalidInput("unknown button", msgid="flow.expects.choice")
        return await _end(state, _day(state, "start") + timedelta(days=offset))
    return await _end(state, await _typed_day(state, answer))


async def _ask_end_typed(state: FlowState) -> Prompt:
    start = format_day(state.language, _day(state, "start"))
    return Prompt(Text("leave.flow.type_end", {"start": start}), [_navigation()])


async def _check_typed_end(state: FlowState, answer: Answer) -> Moved:
    return await _end(state, await _typed_day(state, answer))


async def _ask_reason(state: FlowState) -> Prompt:
    return Prompt(Text("leave.flow.ask_reason"), [_navigation()])


async def _check_reason(state: FlowState, answer: Answer) -> Moved:
    return Moved({"reason": check_reason(answer.text)})


def summary(state: FlowState) -> Text:
    """The request as it will be sent, in the person's language."""
    start, end = _day(state, "start"), _day(state, "end")
    return Text(
        "leave.flow.summary",
        {
            "start": format_day(state.language, start, year=True),
            "end": format_day(state.language, end, year=True),
            "days": count_days(state.language, (end - start).days + 1),
            "reason": state.answers["reason"],
        },
    )


async def _ask_confirm(state: FlowState) -> Prompt:
    return Prompt(summary(state), [[Choice(SEND, "leave.flow.send")], _navigation()])


async def _check_confirm(state: FlowState, answer: Answer) -> Finished:
    if answer.text != SEND:
        raise InvalidInput("unknown button", msgid="flow.expects.choice")
    start, end = _day(state, "start"), _day(state, "end")
    await request_leave(
        actor=_actor(state),
        start=start,
        end=end,
        reason=state.answers["reason"],
        clock=state.clock,
    )
    return Finished(Text("leave.filed", {"dates": leave_dates(state.language, start, end)}))


def dropped(answers: Mapping[str, Any], expired: bool) -> Text:
    """What /cancel or expiry dropped: the dates chosen so far, if any."""
    prefix = "leave.flow.expired" if expired else "leave.flow.dropped"
    start, end = answers.get("start"), answers.get("end")
    if start and end:
        return Text(f"{prefix}_dates", {"start": start, "end": end})
    if start:
        return Text(f"{prefix}_start", {"start": start})
    return Text(prefix)


LEAVE_FLOW = Flow(
    name="leave",
    steps=(
        Step("start", _ask_start, _check_start, accepts=TYPED, back=False),
        Step("start_typed", _ask_start_typed, _check_typed_start, accepts=TEXT, jump_only=True),
        Step("end", _ask_end, _check_end, accepts=TYPED),
        Step("end_typed", _ask_end_typed, _check_typed_end, accepts=TEXT, jump_only=True),
        Step("reason", _ask_reason, _check_reason, accepts=TEXT),
        Step("confirm", _ask_confirm, _check_confirm),
    ),
    dropped=dropped,
)


# A decider's refusal: the reason (typed, or "no reason"), then the refusal is sent.
NO_REASON = "none"


async def _ask_refusal(state: FlowState) -> Prompt:
    return Prompt(
        Text("leave.refuse.ask_reason", {"name": state.answers.get("name", "")}),
        [[Choice(NO_REASON, "leave.refuse.no_reason")], _navigation(back=False)],
    )


async def _check_refusal(state: FlowState, answer: Answer) -> Finished:
    if answer.kind == AnswerKind.CHOICE and answer.text != NO_REASON:
        raise InvalidInput("unknown button", msgid="flow.expects.choice")
    note = "" if answer.kind == AnswerKind.CHOICE else answer.text
    try:
        await decide_leave(
            actor=_actor(state),
            leave_id=int(state.answers["leave_id"]),
            approve=False,
            clock=state.clock,
            note=note,
            edit_own_card=True,
        )
    except Conflict as error:
        # Decided by another head, or withdrawn, while this one was typing: nothing to ask.
        return Finished(Text(error.msgid, error.params))
    return Finished(
        Text(
            "leave.refuse.done_because" if note.strip() else "leave.refuse.done",
            {"name": state.answers.get("name", ""), "note": note.strip()},
        )
    )


def refusal_dropped(answers: Mapping[str, Any], expired: bool) -> Text:
    """What /cancel or expiry left: the request, still pending."""
    return Text("leave.refuse.dropped", {"name": answers.get("name", "")})


REFUSAL_FLOW = Flow(
    name="leave_refusal",
    steps=(Step("reason", _ask_refusal, _check_refusal, accepts=TYPED, back=False),),
    dropped=refusal_dropped,
)
