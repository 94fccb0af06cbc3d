"""Multi-step conversations whose state lives in the database (docs/decisions/0010).

A flow is a list of steps. A step asks (a text and optional buttons), checks the answer (typed
text, a button, a location, a photo, a document or a contact) and either asks again with the
reason or moves on. Back, skip (where a step allows it), a summary with confirm and cancel are
the same for every flow. Nothing here knows Telegram: handlers/chat/flows.py renders and routes.

Every answer is saved with a conditional UPDATE on (id, version): when two processes take two
presses of the same person at once, one of them wins and the other is told the question was
already answered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.enums import Lane
from db.models import Conversation, Deadline, Person
from services.callbacks import FlowAnswer, MalformedCallback, decode_as, encode
from services.clock import Clock
from services.deadlines import ensure
from services.errors import DomainError, InvalidInput
from services.notify import notify
from services.people import Actor
from services.validation import free_text

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(minutes=30)
CALLBACK_PREFIX = FlowAnswer.PREFIX
# Values every flow understands on its buttons.
BACK, SKIP, CANCEL = "back", "skip", "cancel"
TRAIL = "_trail"  # in the answers: the steps answered so far, for Back


class AnswerKind(StrEnum):
    """What a person can answer a step with."""

    TEXT = "text"
    CHOICE = "choice"  # a button press
    LOCATION = "location"
    PHOTO = "photo"
    DOCUMENT = "document"
    CONTACT = "contact"
    OTHER = "other"  # a sticker, a voice note, a video: no step takes it, each says what it wants


@dataclass(frozen=True)
class Answer:
    """One answer as the handler read it from the update."""

    kind: AnswerKind
    text: str = ""  # typed text, a caption, or the value of the button pressed
    lat: float | None = None
    lon: float | None = None
    file_id: str | None = None
    phone: str | None = None
    contact_user_id: int | None = None
    sent_at: datetime | None = None  # a location's time (a live one's last move)
    forwarded: bool = False  # a location forwarded from another chat


@dataclass(frozen=True)
class Choice:
    """One button: the value it carries and its label (a msgid with parameters, or with
    `literal` the label as shown, such as a language's own name)."""

    value: str
    label: str
    params: Mapping[str, Any] = field(default_factory=dict)
    literal: bool = False


@dataclass(frozen=True)
class Text:
    """Something to say: a msgid with parameters, rendered in the person's language."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prompt:
    """A step's question as the handler shows it."""

    text: Text
    choices: Sequence[Sequence[Choice]] = ()
    # A reply-keyboard button that shares the person's own phone number (label msgid).
    contact_button: str | None = None
    # A reply-keyboard button that shares the person's location (label msgid); the choices
    # are then shown as reply-keyboard buttons too, and answer with their label as text.
    location_button: str | None = None


@dataclass(frozen=True)
class Moved:
    """A step's verdict: keep these answers and go on (to `goto`, else the next step),
    saying `note` first (such as "your phone number is saved")."""

    values: Mapping[str, Any] = field(default_factory=dict)
    goto: str | None = None
    note: Text | None = None


@dataclass(frozen=True)
class Finished:
    """A step's verdict: the flow is done; tell the person `text`."""

    text: Text
    language: str | None = None  # the language to say it in, when the flow changed it


@dataclass
class FlowState:
    """What a step sees: who answers, their answers so far, and the clock."""

    telegram_id: int
    person: Person | None
    actor: Actor | None
    language: str
    answers: dict[str, Any]
    clock: Clock


Asker = Callable[[FlowState], Awaitable[Prompt]]
Checker = Callable[[FlowState, Answer], Awaitable[Moved | Finished]]


@dataclass(frozen=True)
class Step:
    """One question of a flow.

    `accepts` lists the kinds of answer the step takes; `jump_only` steps are reached only by a
    `goto` (a typed date after "other date"), never by going on from the step before.
    """

    name: str
    ask: Asker
    check: Checker
    accepts: frozenset[AnswerKind] = frozenset({AnswerKind.CHOICE})
    skippable: bool = False
    back: bool = True
    jump_only: bool = False


@dataclass(frozen=True)
class Flow:
    """A named list of steps, how long it waits for an answer, and how it is described when
    dropped (by /cancel or by expiry)."""

    name: str
    steps: Sequence[Step]
    # What was dropped, from the answers so far; `expired` when the flow timed out.
    dropped: Callable[[Mapping[str, Any], bool], Text]
    ttl: timedelta | None = DEFAULT_TTL
    cancellable: bool = True
    # A step shows its own reply keyboard: the usual one comes back when the flow ends.
    restore_keyboard: bool = False

    def step(self, name: str) -> Step:
        """The step called `name`."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def after(self, name: str) -> Step | None:
        """The step that follows `name` when nothing jumps elsewhere (None: the last)."""
        names = [step.name for step in self.steps]
        for step in self.steps[names.index(name) + 1 :]:
            if not step.jump_only:
                return step
        return None


class TurnKind(StrEnum):
    """What happened to an answer."""

    ASK = "ask"  # the (next) question
    REASK = "reask"  # the same question, with the reason
    DONE = "done"  # the flow finished
    CANCELLED = "cancelled"  # the person left the flow
    EXPIRED = "expired"  # the flow had expired before this answer came
    STALE = "stale"  # a button of an earlier question or an earlier flow
    NO_FLOW = "no_flow"  # nothing under way


@dataclass(frozen=True)
class Turn:
    """The outcome of one answer, for the handler to render."""

    kind: TurnKind
    prompt: Prompt | None = None
    reason: Text | None = None  # why the question is asked again, or a stale press refused
    text: Text | None = None  # the flow's result, or what was dropped
    note: Text | None = None  # said before the next question
    conversation_id: int | None = None
    version: int | None = None
    flow: str | None = None
    language: str | None = None  # the person's language, when the flow knows it


# The callback data of flow buttons: the shared codec's FlowAnswer.


@dataclass(frozen=True)
class FlowPress:
    """What a flow button carries: which conversation, which question, which value."""

    conversation_id: int
    version: int
    value: str


def flow_button_data(conversation_id: int, version: int, value: str) -> str:
    """The callback data of a flow button (the shared codec's `FlowAnswer`)."""
    try:
        return encode(FlowAnswer(conversation_id, version, value))
    except ValueError as exc:
        raise InvalidInput(f"flow button out of bounds: {exc}") from None


def parse_flow_button(data: str) -> FlowPress | None:
    """The press in `data`, or None when it is not a well-formed flow button."""
    try:
        answer = decode_as(data, FlowAnswer)
    except MalformedCallback:
        return None
    return FlowPress(answer.conversation_id, answer.version, answer.value)


# The flows Outpost knows, by name. Imported lazily: the flows themselves import this module.


def flow_named(name: str) -> Flow | None:
    """The flow called `name`, or None (a row left by a flow that no longer exists)."""
    from services.alert_flow import ALERT_FLOW
    from services.invites import REGISTRATION_FLOW
    from services.leave_flow import LEAVE_FLOW, REFUSAL_FLOW
    from services.outing_flow import OUTING_FLOWS
    from services.security import SECURITY_FLOW

    flows = (LEAVE_FLOW, REFUSAL_FLOW, REGISTRATION_FLOW, *OUTING_FLOWS, ALERT_FLOW, SECURITY_FLOW)
    return {flow.name: flow for flow in flows}.get(name)


def _expired(row: Conversation, now: datetime) -> bool:
    return row.expires_at is not None and row.expires_at <= now


def _expiry(flow: Flow, now: datetime) -> datetime | None:
    return now + flow.ttl if flow.ttl is not None else None


async def _state(row: Conversation, actor: Actor | None, clock: Clock) -> FlowState:
    person = actor.person if actor is not None else None
    if person is None and row.person_id is not None:
        person = await Person.get_or_none(id=row.person_id)
    language = person.language if person is not None else "en"
    return FlowState(row.telegram_id, person, actor, language, dict(row.answers), clock)


async def _ask(
    flow: Flow, row: Conversation, state: FlowState, kind: TurnKind, reason: Text | None = None
) -> Turn:
    prompt = await flow.step(row.step).ask(state)
    return Turn(
        kind,
        prompt=prompt,
        reason=reason,
        conversation_id=row.id,
        version=row.version,
        flow=flow.name,
        language=state.language,
    )


async def active(telegram_id: int, clock: Clock) -> Conversation | None:
    """The conversation under way for this account (an expired one is not under way)."""
    row = await Conversation.get_or_none(telegram_id=telegram_id)
    if row is None or _expired(row, clock.now()):
        return None
    return row


async def open_flow(
    flow: Flow,
    *,
    telegram_id: int,
    person: Person | None,
    clock: Clock,
    answers: Mapping[str, Any] | None = None,
    step: str | None = None,
) -> Conversation:
    """Store `flow` as the one under way for this account, replacing any other."""
    row = Conversation(
        telegram_id=telegram_id,
        person_id=person.id if person is not None else None,
        flow=flow.name,
        step=step or flow.steps[0].name,
        answers=dict(answers or {}),
        started_at=clock.now(),
        updated_at=clock.now(),
        expires_at=_expiry(flow, clock.now()),
    )
    try:
        return await _replace(row)
    except IntegrityError:
        # Another process opened one for this account between our delete and insert: the
        # later command wins, as it would have a moment later.
        return await _replace(row)


async def _replace(row: Conversation) -> Conversation:
    async with in_transaction():
        await Conversation.filter(telegram_id=row.telegram_id).delete()
        await row.save(force_create=True)
    return row


async def wants_location(telegram_id: int, clock: Clock) -> bool:
    """True when the flow under way for this account is at a step that takes a location."""
    row = await active(telegram_id, clock)
    flow = flow_named(row.flow) if row is not None else None
    if row is None or flow is None:
        return False
    return AnswerKind.LOCATION in flow.step(row.step).accepts


async def start_flow(
    flow: Flow,
    *,
    telegram_id: int,
    person: Person | None,
    clock: Clock,
    actor: Actor | None = None,
    answers: Mapping[str, Any] | None = None,
    step: str | None = None,
) -> Turn:
    """Open `flow` for this account (replacing whatever was under way) and ask its first step."""
    row = await open_flow(
        flow, telegram_id=telegram_id, person=person, clock=clock, answers=answers, step=step
    )
    state = await _state(row, actor, clock)
    return await _ask(flow, row, state, TurnKind.ASK)


async def current_prompt(telegram_id: int, *, actor: Actor | None, clock: Clock) -> Turn:
    """The question the person is at, asked again (after a restart, or when they wander off)."""
    row = await active(telegram_id, clock)
    flow = flow_named(row.flow) if row is not None else None
    if row is None or flow is None:
        return Turn(TurnKind.NO_FLOW)
    return await _ask(flow, row, await _state(row, actor, clock), TurnKind.ASK)


async def _drop(row: Conversation) -> bool:
    """Delete the row if nobody changed it meanwhile; True when this call deleted it."""
    return bool(await Conversation.filter(id=row.id, version=row.version).delete())


def _dropped_text(row: Conversation, *, expired: bool) -> Text:
    flow = flow_named(row.flow)
    if flow is None:
        return Text("flow.expired" if expired else "flow.dropped")
    return _described(flow, row.answers, expired=expired)


def _described(flow: Flow, answers: Mapping[str, Any], *, expired: bool) -> Text:
    text = flow.dropped(answers, expired)
    if not expired or flow.ttl is None:
        return text
    return Text(text.msgid, {**text.params, "minutes": int(flow.ttl.total_seconds() // 60)})


async def take_answer(
    telegram_id: int,
    answer: Answer,
    *,
    actor: Actor | None,
    clock: Clock,
    press: FlowPress | None = None,
) -> Turn:
    """Give the answer to the step the person is at; `press` for a button of a flow."""
    now = clock.now()
    row = await Conversation.get_or_none(telegram_id=telegram_id)
    if row is None:
        return Turn(
            TurnKind.STALE if press is not None else TurnKind.NO_FLOW,
            reason=Text("flow.press_finished"),
        )
    flow = flow_named(row.flow)
    if flow is None:
        await _drop(row)
        return Turn(TurnKind.NO_FLOW)
    if press is not None and press.conversation_id != row.id:
        return Turn(TurnKind.STALE, reason=Text("flow.press_finished"))
    if _expired(row, now):
        if await _drop(row):
            return Turn(TurnKind.EXPIRED, text=_described(flow, row.answers, expired=True))
        return Turn(TurnKind.STALE, reason=Text("flow.press_finished"))
    if press is not None and press.version != row.version:
        return Turn(TurnKind.STALE, reason=Text("flow.press_old"))
    if answer.kind == AnswerKind.TEXT:
        answer = replace(answer, text=free_text(answer.text))
    state = await _state(row, actor, clock)
    step = flow.step(row.step)
    value = answer.text if answer.kind == AnswerKind.CHOICE else None
    if value == CANCEL and flow.cancellable:
        return await cancel_flow(telegram_id, clock=clock)
    trail: list[str] = list(state.answers.get(TRAIL, []))
    if value == BACK and step.back and trail:
        return await _save(flow, row, state, trail[-1], trail[:-1])
    if value == SKIP and step.skippable:
        state.answers[step.name] = None
        following = flow.after(step.name)
        if following is None:
            return await _ask(flow, row, state, TurnKind.REASK, Text("flow.cannot_skip"))
        return await _save(flow, row, state, following.name, [*trail, step.name])
    if answer.kind not in step.accepts:
        expected = sorted(step.accepts)[0]
        return await _ask(flow, row, state, TurnKind.REASK, Text(f"flow.expects.{expected}"))
    try:
        # The answer's business effect (a filed request) and the step move are committed
        # together, and only by the process whose claim of this version succeeds: two
        # processes handling a double tap on Send file one request.
        async with in_transaction():
            if not await _claim(row):
                return Turn(TurnKind.STALE, reason=Text("flow.press_old"))
            verdict = await step.check(state, answer)
            if isinstance(verdict, Finished):
                await Conversation.filter(id=row.id).delete()
                return Turn(
                    TurnKind.DONE,
                    text=verdict.text,
                    flow=flow.name,
                    language=verdict.language or state.language,
                )
            state.answers.update(verdict.values)
            following = flow.step(verdict.goto) if verdict.goto else flow.after(step.name)
            if following is None:
                raise RuntimeError(f"flow {flow.name} has nothing after step {step.name}")
            await _move(flow, row, state, following.name, [*trail, step.name], claimed=True)
    except DomainError as error:
        return await _ask(flow, row, state, TurnKind.REASK, Text(error.msgid, error.params))
    return replace(await _ask(flow, row, state, TurnKind.ASK), note=verdict.note)


async def _claim(row: Conversation) -> bool:
    """Take this version of the row for one answer (rolled back with the answer if refused)."""
    return bool(
        await Conversation.filter(id=row.id, version=row.version).update(version=row.version + 1)
    )


async def _move(
    flow: Flow,
    row: Conversation,
    state: FlowState,
    step: str,
    trail: list[str],
    *,
    claimed: bool = False,
) -> bool:
    """Save the step reached and the answers; False when another answer got there first."""
    now = state.clock.now()
    state.answers[TRAIL] = trail
    version = row.version + 1
    saved = await Conversation.filter(
        id=row.id, version=version if claimed else row.version
    ).update(
        step=step,
        answers=state.answers,
        updated_at=now,
        expires_at=_expiry(flow, now),
        version=version,
    )
    if not saved:
        return False
    row.step, row.answers, row.version = step, state.answers, version
    return True


async def _save(
    flow: Flow, row: Conversation, state: FlowState, step: str, trail: list[str]
) -> Turn:
    if not await _move(flow, row, state, step, trail):
        return Turn(TurnKind.STALE, reason=Text("flow.press_old"))
    return await _ask(flow, row, state, TurnKind.ASK)


async def cancel_flow(telegram_id: int, *, clock: Clock) -> Turn:
    """Leave the flow under way and say what was dropped (NO_FLOW when there was none)."""
    row = await Conversation.get_or_none(telegram_id=telegram_id)
    if row is None:
        return Turn(TurnKind.NO_FLOW)
    flow = flow_named(row.flow)
    if flow is not None and not flow.cancellable:
        return Turn(TurnKind.REASK, reason=Text("flow.cannot_cancel"))
    expired = _expired(row, clock.now())
    if not await _drop(row):
        return Turn(TurnKind.STALE, reason=Text("flow.press_old"))
    return Turn(
        TurnKind.EXPIRED if expired else TurnKind.CANCELLED,
        text=_dropped_text(row, expired=expired),
        flow=row.flow,
    )


async def expire_flows(clock: Clock) -> int:
    """Delete the flows nobody answered in time and tell each person what was dropped.

    Run by the deadline engine's sweep (`handle_flow_expiry`); the conditional delete makes two
    processes running it at once tell each person once. Returns how many expired.
    """
    now = clock.now()
    expired = 0
    for row in await Conversation.filter(expires_at__lte=now).order_by("expires_at"):
        async with in_transaction():
            if not await _drop(row):
                continue
            expired += 1
            if row.person_id is None:
                continue
            person = await Person.get_or_none(id=row.person_id, active=True)
            if person is None:
                continue
            dropped = _dropped_text(row, expired=True)
            await notify(
                recipient=person,
                msgid=dropped.msgid,
                params=dropped.params,
                lane=Lane.ROUTINE,
                idempotency_key=f"flow-expired:{row.id}:{row.version}",
                source_kind="conversation",
                source_id=row.id,
                clock=clock,
            )
    if expired:
        logger.info("expired %d conversation(s)", expired)
    return expired


# The deadline engine looks for expired flows this often: a person is told within a minute.
FLOW_EXPIRY = "flow_expiry"
EXPIRY_SWEEP = timedelta(minutes=1)


async def handle_flow_expiry(deadline: Deadline, clock: Clock) -> datetime:
    """The deadline engine's sweep: expire what fell due, look again in a minute."""
    await expire_flows(clock)
    return clock.now() + EXPIRY_SWEEP


async def ensure_flow_expiry(*, clock: Clock) -> None:
    """At start-up: make sure the sweep is scheduled (once, whatever the number of processes)."""
    await ensure(FLOW_EXPIRY, "all", clock.now())
