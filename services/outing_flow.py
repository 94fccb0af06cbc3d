"""/outing from a phone: destination, purpose, companions, departure, return, summary, send;
and the short flows of deciding (a refusal's reason, a question) and answering a question.

services.outings holds the rules; a step only reads the answer and calls them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from i18n import available_languages, format_clock, format_distance, translate
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
from services.localtime import station_zone
from services.outings import (
    OutingPlan,
    answer_question,
    ask_question,
    check_departure,
    check_destination,
    check_purpose,
    check_return,
    companion_choices,
    decide_outing,
    is_night,
    parse_one_line,
    parse_when,
    policy_of,
    record_return_position,
    report_late,
    request_outing,
    station_of,
)
from services.people import Actor

NOW, ALONE, DONE, SEND = "now", "alone", "done", "send"
HOURS = (1, 2, 4)
TYPED = frozenset({AnswerKind.CHOICE, AnswerKind.TEXT})
TEXT = frozenset({AnswerKind.TEXT})
ORDER = ("destination", "purpose", "companions", "departure", "returns", "confirm")


def _actor(state: FlowState) -> Actor:
    if state.actor is None:
        raise NotAllowed("an outing needs a registered person")
    return state.actor


def _navigation(*, back: bool = True) -> list[Choice]:
    row = [Choice(BACK, "flow.button.back")] if back else []
    return [*row, Choice(CANCEL, "flow.button.cancel")]


def _next(answers: Mapping[str, Any]) -> str:
    """The first step still unanswered (a one-line /outing has answered some already)."""
    for name in ORDER[:-1]:
        if answers.get(name) is None:
            return name
    return "confirm"


def _moved(state: FlowState, **values: Any) -> Moved:
    return Moved(values, goto=_next({**state.answers, **values}))


def _leaves(state: FlowState) -> datetime:
    value = state.answers.get("departure")
    if value in (None, NOW):
        return state.clock.now()
    return datetime.fromisoformat(value)


async def _ask_destination(state: FlowState) -> Prompt:
    return Prompt(Text("outing.flow.ask_destination"), [_navigation(back=False)])


async def _check_destination(state: FlowState, answer: Answer) -> Moved:
    if answer.kind == AnswerKind.LOCATION and answer.lat is not None and answer.lon is not None:
        return _moved(
            state,
            destination=f"📍 {answer.lat:.5f}, {answer.lon:.5f}",
            lat=answer.lat,
            lon=answer.lon,
        )
    return _moved(state, destination=check_destination(answer.text), lat=None, lon=None)


async def _ask_purpose(state: FlowState) -> Prompt:
    return Prompt(Text("outing.flow.ask_purpose"), [_navigation()])


async def _check_purpose(state: FlowState, answer: Answer) -> Moved:
    return _moved(state, purpose=check_purpose(answer.text))


async def _ask_companions(state: FlowState) -> Prompt:
    actor = _actor(state)
    policy = policy_of(await station_of(actor))
    chosen = set(state.answers.get("picked") or [])
    people = await companion_choices(actor)
    rows = [
        [
            Choice(
                f"p{person.id}",
                "outing.flow.picked" if person.id in chosen else "outing.flow.pick",
                {"name": person.name},
            )
        ]
        for person in people
    ]
    last: list[Choice] = []
    if chosen:
        last.append(Choice(DONE, "outing.flow.companions_done"))
    elif not policy.companion_required:
        last.append(Choice(ALONE, "outing.flow.alone"))
    msgid = (
        "outing.flow.ask_companions_required"
        if policy.companion_required
        else "outing.flow.ask_companions"
    )
    if not people:
        msgid = (
            "outing.flow.no_companions"
            if policy.companion_required
            else "outing.flow.ask_companions_none"
        )
    return Prompt(Text(msgid), [*rows, *([last] if last else []), _navigation()])


async def _check_companions(state: FlowState, answer: Answer) -> Moved:
    value = answer.text
    chosen: list[int] = list(state.answers.get("picked") or [])
    if value == ALONE:
        if policy_of(await station_of(_actor(state))).companion_required:
            raise InvalidInput("companion required", msgid="outing.companion_required")
        return _moved(state, companions=[], picked=[])
    if value == DONE and chosen:
        return _moved(state, companions=chosen)
    if value.startswith("p") and value[1:].isdigit():
        person_id = int(value[1:])
        if person_id not in {p.id for p in await companion_choices(_actor(state))}:
            raise InvalidInput("unknown companion", msgid="outing.bad_companion")
        chosen = (
            [c for c in chosen if c != person_id] if person_id in chosen else [*chosen, person_id]
        )
        return Moved({"picked": chosen}, goto="companions")
    raise InvalidInput("unknown button", msgid="flow.expects.choice")


async def _ask_departure(state: FlowState) -> Prompt:
    return Prompt(
        Text("outing.flow.ask_departure"), [[Choice(NOW, "outing.flow.now")], _navigation()]
    )


async def _check_departure(state: FlowState, answer: Answer) -> Moved:
    if answer.kind == AnswerKind.CHOICE:
        if answer.text != NOW:
            raise InvalidInput("unknown button", msgid="flow.expects.choice")
        return _moved(state, departure=NOW)
    station = await station_of(_actor(state))
    zone, now = station_zone(station), state.clock.now()
    typed = parse_when(answer.text, base=now, zone=zone)
    if typed is None:
        raise InvalidInput("unreadable time", msgid="outing.bad_time")
    leaves = check_departure(typed, now=now, zone=zone)
    return _moved(state, departure=NOW if leaves == now else leaves.isoformat())


async def _ask_returns(state: FlowState) -> Prompt:
    leaves = _leaves(state)
    zone = station_zone(await station_of(_actor(state)))
    return Prompt(
        Text("outing.flow.ask_return", {"leaves": format_clock(state.language, leaves, zone)}),
        [
            [
                Choice(
                    f"h{n}",
                    "outing.flow.plus_hours",
                    {
                        "hours": n,
                        "at": format_clock(state.language, leaves + timedelta(hours=n), zone),
                    },
                )
                for n in HOURS
            ],
            _navigation(),
        ],
    )


async def check_returns(
    actor: Actor, *, leaves: datetime, returns: datetime, now: datetime
) -> None:
    """The return against the station's rules (each failure its own re-ask)."""
    station = await station_of(actor)
    check_return(
        policy_of(station),
        leaves_at=leaves,
        returns_at=returns,
        now=now,
        zone=station_zone(station),
    )


async def _check_returns(state: FlowState, answer: Answer) -> Moved:
    actor, leaves, now = _actor(state), _leaves(state), state.clock.now()
    if answer.kind == AnswerKind.CHOICE:
        hours = {f"h{n}": n for n in HOURS}.get(answer.text)
        if hours is None:
            raise InvalidInput("unknown button", msgid="flow.expects.choice")
        returns = leaves + timedelta(hours=hours)
    else:
        zone = station_zone(await station_of(actor))
        typed = parse_when(answer.text, base=leaves, zone=zone)
        if typed is None:
            raise InvalidInput("unreadable time", msgid="outing.bad_time")
        returns = typed
    await check_returns(actor, leaves=leaves, returns=returns, now=now)
    return _moved(state, returns=returns.isoformat())


async def _ask_confirm(state: FlowState) -> Prompt:
    actor = _actor(state)
    station = await station_of(actor)
    zone = station_zone(station)
    leaves, returns = _leaves(state), datetime.fromisoformat(state.answers["returns"])
    people = {p.id: p.name for p in await companion_choices(actor)}
    companions = ", ".join(people.get(i, "?") for i in state.answers.get("companions") or [])
    night = is_night(policy_of(station), leaves_at=leaves, returns_at=returns, zone=zone)
    return Prompt(
        Text(
            "outing.flow.summary_night" if night else "outing.flow.summary",
            {
                "destination": state.answers["destination"],
                "purpose": state.answers["purpose"],
                "companions": companions or "—",
                "leaves": format_clock(state.language, leaves, zone),
                "returns": format_clock(state.language, returns, zone),
            },
        ),
        [[Choice(SEND, "outing.flow.send")], _navigation()],
    )


async def _check_confirm(state: FlowState, answer: Answer) -> Finished:
    if answer.text != SEND:
        raise InvalidInput("unknown button", msgid="flow.expects.choice")
    departure = state.answers.get("departure")
    plan = OutingPlan(
        destination=state.answers["destination"],
        purpose=state.answers["purpose"],
        returns_at=datetime.fromisoformat(state.answers["returns"]),
        leaves_at=None if departure in (None, NOW) else datetime.fromisoformat(departure),
        companions=tuple(state.answers.get("companions") or ()),
        lat=state.answers.get("lat"),
        lon=state.answers.get("lon"),
    )
    outing = await request_outing(actor=_actor(state), plan=plan, clock=state.clock)
    return Finished(
        Text(
            "outing.filed_night" if outing.is_night else "outing.filed",
            {"destination": outing.destination},
        )
    )


def _dropped(answers: Mapping[str, Any], expired: bool) -> Text:
    return Text("outing.flow.expired" if expired else "outing.flow.dropped")


OUTING_FLOW = Flow(
    name="outing",
    steps=(
        Step(
            "destination",
            _ask_destination,
            _check_destination,
            accepts=frozenset({AnswerKind.TEXT, AnswerKind.LOCATION}),
            back=False,
        ),
        Step("purpose", _ask_purpose, _check_purpose, accepts=TEXT),
        Step("companions", _ask_companions, _check_companions),
        Step("departure", _ask_departure, _check_departure, accepts=TYPED),
        Step("returns", _ask_returns, _check_returns, accepts=TYPED),
        Step("confirm", _ask_confirm, _check_confirm),
    ),
    dropped=_dropped,
)


async def one_line(actor: Actor, text: str, *, now: datetime) -> tuple[dict[str, Any], str]:
    """`/outing Ikeja market, back 16:30`: the answers it gives (departure now) and the step
    to ask first; a return that does not read or breaks a rule is asked again."""
    destination, typed = parse_one_line(text)
    answers: dict[str, Any] = {"destination": check_destination(destination), "departure": NOW}
    if typed is not None:
        station = await station_of(actor)
        returns = parse_when(typed, base=now, zone=station_zone(station))
        if returns is not None:
            try:
                await check_returns(actor, leaves=now, returns=returns, now=now)
            except InvalidInput:
                returns = None
        if returns is not None:
            answers["returns"] = returns.isoformat()
    return answers, _next(answers)


# ---------------------------------------------------------------- deciders' short flows


def _outing_id(state: FlowState) -> int:
    return int(state.answers["outing"])


async def _ask_refusal(state: FlowState) -> Prompt:
    return Prompt(Text("outing.flow.ask_refusal"), [_navigation(back=False)])


async def _check_refusal(state: FlowState, answer: Answer) -> Finished:
    try:
        await decide_outing(
            actor=_actor(state),
            outing_id=_outing_id(state),
            approve=False,
            note=check_purpose(answer.text),
            clock=state.clock,
        )
    except Conflict as error:
        return Finished(Text(error.msgid))
    return Finished(Text("outing.you_refused"))


async def _ask_question(state: FlowState) -> Prompt:
    return Prompt(Text("outing.flow.ask_question"), [_navigation(back=False)])


async def _check_question(state: FlowState, answer: Answer) -> Finished:
    try:
        await ask_question(
            actor=_actor(state),
            outing_id=_outing_id(state),
            question=answer.text,
            clock=state.clock,
        )
    except Conflict as error:
        return Finished(Text(error.msgid))
    return Finished(Text("outing.question_sent"))


async def _ask_reply(state: FlowState) -> Prompt:
    return Prompt(Text("outing.flow.ask_reply"), [_navigation(back=False)])


async def _check_reply(state: FlowState, answer: Answer) -> Finished:
    try:
        await answer_question(
            actor=_actor(state),
            outing_id=_outing_id(state),
            asker_id=int(state.answers["asker"]),
            answer=answer.text,
            clock=state.clock,
        )
    except Conflict as error:
        return Finished(Text(error.msgid))
    return Finished(Text("outing.reply_sent"))


def _short_dropped(answers: Mapping[str, Any], expired: bool) -> Text:
    return Text("flow.expired" if expired else "flow.dropped")


REFUSAL_FLOW = Flow(
    name="outing_refusal",
    steps=(Step("reason", _ask_refusal, _check_refusal, accepts=TEXT, back=False),),
    dropped=_short_dropped,
)
QUESTION_FLOW = Flow(
    name="outing_question",
    steps=(Step("question", _ask_question, _check_question, accepts=TEXT, back=False),),
    dropped=_short_dropped,
)
REPLY_FLOW = Flow(
    name="outing_reply",
    steps=(Step("answer", _ask_reply, _check_reply, accepts=TEXT, back=False),),
    dropped=_short_dropped,
)


# ---------------------------------------------------------------- /late without arguments

LATE_CHOICES = {"m30": timedelta(minutes=30), "h1": timedelta(hours=1)}


async def _ask_late_time(state: FlowState) -> Prompt:
    return Prompt(
        Text("outing.flow.ask_late"),
        [
            [Choice("m30", "outing.flow.plus_30"), Choice("h1", "outing.flow.plus_60")],
            _navigation(back=False),
        ],
    )


async def _check_late_time(state: FlowState, answer: Answer) -> Moved:
    actor, now = _actor(state), state.clock.now()
    if answer.kind == AnswerKind.CHOICE:
        delta = LATE_CHOICES.get(answer.text)
        if delta is None:
            raise InvalidInput("unknown button", msgid="flow.expects.choice")
        returns = now + delta
    else:
        typed = parse_when(answer.text, base=now, zone=station_zone(await station_of(actor)))
        if typed is None:
            raise InvalidInput("unreadable time", msgid="outing.bad_time")
        returns = typed
    if returns <= now:
        raise InvalidInput("return in the past", msgid="outing.return_past")
    return Moved({"returns": returns.isoformat()})


async def _ask_late_reason(state: FlowState) -> Prompt:
    return Prompt(Text("outing.flow.ask_late_reason"), [_navigation()])


async def _check_late_reason(state: FlowState, answer: Answer) -> Finished:
    outing = await report_late(
        actor=_actor(state),
        returns_at=datetime.fromisoformat(state.answers["returns"]),
        reason=answer.text,
        clock=state.clock,
    )
    zone = station_zone(await station_of(_actor(state)))
    return Finished(
        Text(
            "outing.late_noted",
            {"returns": format_clock(state.language, outing.expected_return_at, zone)},
        )
    )


LATE_FLOW = Flow(
    name="outing_late",
    steps=(
        Step("time", _ask_late_time, _check_late_time, accepts=TYPED, back=False),
        Step("reason", _ask_late_reason, _check_late_reason, accepts=TEXT),
    ),
    dropped=_short_dropped,
)


# ---------------------------------------------------------------- where "I'm back" was said

SKIP_POSITION = "outing.back.skip"


async def _ask_position(state: FlowState) -> Prompt:
    return Prompt(
        Text("outing.back.ask_position"),
        [[Choice(SKIP_POSITION, SKIP_POSITION)]],
        location_button="outing.back.share",
    )


def _is_skip(text: str) -> bool:
    """The Skip button's label in any language (it answers with its label as text)."""
    return text.strip() in {
        translate(language, SKIP_POSITION) for language in available_languages()
    }


async def _check_position(state: FlowState, answer: Answer) -> Finished:
    if answer.kind == AnswerKind.TEXT:
        if not _is_skip(answer.text):
            raise InvalidInput("not a location", msgid="outing.back.expects_position")
        return Finished(Text("outing.back.skipped"))
    if answer.lat is None or answer.lon is None:
        raise InvalidInput("not a location", msgid="outing.back.expects_position")
    returned = await record_return_position(
        actor=_actor(state),
        outing_id=_outing_id(state),
        lat=answer.lat,
        lon=answer.lon,
        clock=state.clock,
        sent_at=answer.sent_at,
        forwarded=answer.forwarded,
    )
    if returned.distance_m is None:
        return Finished(Text("outing.back.position_noted"))
    return Finished(
        Text(
            "outing.back.position_recorded",
            {"distance": format_distance(state.language, returned.distance_m)},
        )
    )


BACK_FLOW = Flow(
    name="outing_back",
    steps=(
        Step(
            "position",
            _ask_position,
            _check_position,
            accepts=frozenset({AnswerKind.LOCATION, AnswerKind.TEXT}),
            back=False,
        ),
    ),
    dropped=_short_dropped,
    ttl=timedelta(minutes=15),
    restore_keyboard=True,
)
OUTING_FLOWS = (OUTING_FLOW, REFUSAL_FLOW, QUESTION_FLOW, REPLY_FLOW, LATE_FLOW, BACK_FLOW)
