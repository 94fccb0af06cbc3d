"""Conversations kept in the database: steps, re-asks with the reason, back, stale presses,
/cancel, expiry, and two processes answering at once. The leave flow is the flow under test."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.enums import RequestStatus, Role
from db.models import Conversation, LeaveRequest, OutboxMessage
from services import conversations
from services.clock import ManualClock
from services.conversations import (
    BACK,
    CANCEL,
    SKIP,
    Answer,
    AnswerKind,
    Choice,
    Finished,
    Flow,
    FlowPress,
    FlowState,
    Moved,
    Prompt,
    Step,
    Text,
    Turn,
    TurnKind,
    cancel_flow,
    current_prompt,
    expire_flows,
    flow_button_data,
    open_flow,
    parse_flow_button,
    start_flow,
    take_answer,
)
from services.errors import InvalidInput
from services.leave_flow import LEAVE_FLOW
from services.people import Actor, identify
from tests.auxil.rows import fk_id
from tests.auxil.stations import lagos_with

STAFF = 1


@pytest.fixture
async def amina(db: str) -> Actor:
    """A member of staff in Lagos, with a head to decide her leave."""
    await lagos_with((STAFF, "Amina", Role.STAFF, "en"), (2, "Zhang", Role.HEAD, "zh-Hans"))
    actor = await identify(STAFF)
    assert actor is not None
    return actor


async def _open(actor: Actor, clock: ManualClock) -> Turn:
    return await start_flow(
        LEAVE_FLOW, telegram_id=STAFF, person=actor.person, actor=actor, clock=clock
    )


async def _press(turn: Turn, value: str, actor: Actor, clock: ManualClock) -> Turn:
    assert turn.conversation_id is not None
    assert turn.version is not None
    return await take_answer(
        STAFF,
        Answer(AnswerKind.CHOICE, text=value),
        actor=actor,
        clock=clock,
        press=FlowPress(turn.conversation_id, turn.version, value),
    )


async def _type(text: str, actor: Actor, clock: ManualClock) -> Turn:
    return await take_answer(STAFF, Answer(AnswerKind.TEXT, text=text), actor=actor, clock=clock)


def _labels(turn: Turn) -> list[str]:
    assert turn.prompt is not None
    return [choice.value for row in turn.prompt.choices for choice in row]


async def test_leave_flow_from_buttons_to_a_filed_request(
    amina: Actor, clock: ManualClock
) -> None:
    """Tomorrow, +1 day, a reason, the summary, Send: the request is filed, the row gone."""
    turn = await _open(amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.ask_start"
    assert _labels(turn) == ["d0", "d1", "d2", "other", "cancel"]
    # Monday 5 January 2026 in Lagos: the buttons name the days with their weekday.
    assert turn.prompt.choices[0][1].params == {"day": "Tue, Jan 6"}
    turn = await _press(turn, "d1", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.ask_end"
    assert _labels(turn) == ["e0", "e1", "e2", "other", "back", "cancel"]
    turn = await _press(turn, "e1", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.ask_reason"
    turn = await _type("family visit", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.summary"
    assert turn.prompt.text.params == {
        "start": "Tue, Jan 6, 2026",
        "end": "Wed, Jan 7, 2026",
        "days": "2 days",
        "reason": "family visit",
    }
    turn = await _press(turn, "send", amina, clock)
    assert turn.kind == TurnKind.DONE
    assert turn.text is not None
    assert (turn.text.msgid, turn.text.params) == (
        "leave.filed",
        {"dates": "Tue, Jan 6, 2026 to Wed, Jan 7, 2026"},
    )
    leave = await LeaveRequest.get()
    assert (leave.start_date, leave.end_date, leave.reason, leave.status) == (
        date(2026, 1, 6),
        date(2026, 1, 7),
        "family visit",
        RequestStatus.PENDING,
    )
    assert not await Conversation.exists()


async def test_bad_answers_are_asked_again_with_the_reason(
    amina: Actor, clock: ManualClock
) -> None:
    """An unreadable date, a day too far back, an end before the start, a photo where a date
    is asked, a reason over the limit: each re-asked with why, nothing kept."""
    turn = await _open(amina, clock)
    cases = [
        ("31-31", "leave.flow.bad_date", {}),
        ("2025-12-01", "leave.too_old", {"days": 7}),
    ]
    for text, msgid, params in cases:
        turn = await _type(text, amina, clock)
        assert turn.kind == TurnKind.REASK
        assert turn.reason is not None
        assert (turn.reason.msgid, dict(turn.reason.params)) == (msgid, params)
        assert turn.prompt is not None
        assert turn.prompt.text.msgid == "leave.flow.ask_start"
    photo = await take_answer(
        STAFF, Answer(AnswerKind.PHOTO, file_id="x"), actor=amina, clock=clock
    )
    sticker = await take_answer(STAFF, Answer(AnswerKind.OTHER), actor=amina, clock=clock)
    assert sticker.reason == Text("flow.expects.choice")
    assert photo.reason is not None
    assert photo.reason.msgid == "flow.expects.choice"
    turn = await _type("01-10", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.ask_end"
    turn = await _type("01-09", amina, clock)
    assert turn.reason is not None
    assert turn.reason.msgid == "leave.bad_order"
    turn = await _type("2026-06-01", amina, clock)
    assert turn.reason is not None
    assert turn.reason.msgid == "leave.too_long"
    turn = await _type("01-12", amina, clock)
    turn = await _type("x" * 1001, amina, clock)
    assert turn.kind == TurnKind.REASK
    assert turn.reason is not None
    assert (turn.reason.msgid, dict(turn.reason.params)) == (
        "leave.reason_too_long",
        {"limit": 1000, "length": 1001},
    )
    row = await Conversation.get()
    assert (row.step, row.answers["start"], row.answers["end"]) == (
        "reason",
        "2026-01-10",
        "2026-01-12",
    )
    assert "reason" not in row.answers


async def test_overlapping_leave_is_refused_at_the_last_day(
    amina: Actor, clock: ManualClock
) -> None:
    """Days already asked for are refused when the last day makes them overlap."""
    await LeaveRequest.create(
        person_id=amina.person.id,
        station_id=amina.person.station_id,
        start_date=date(2026, 1, 7),
        end_date=date(2026, 1, 8),
        reason="earlier",
    )
    turn = await _press(await _open(amina, clock), "d1", amina, clock)
    turn = await _press(turn, "e2", amina, clock)
    assert turn.reason is not None
    assert turn.reason.msgid == "leave.overlaps"
    turn = await _press(turn, "e0", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.ask_reason"


async def test_other_date_and_back_walk_the_steps_taken(amina: Actor, clock: ManualClock) -> None:
    """ "Other date" asks for a typed day; Back returns to each question actually asked."""
    turn = await _press(await _open(amina, clock), "other", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.type_start"
    turn = await _type("01-20", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.params == {"start": "Tue, Jan 20"}
    turn = await _press(turn, "back", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.type_start"
    turn = await _press(turn, "back", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.ask_start"
    assert "back" not in _labels(turn)  # nothing before the first question


async def test_an_old_button_or_a_finished_flow_is_refused_with_a_reason(
    amina: Actor, clock: ManualClock
) -> None:
    """A press from an earlier question, or of a flow that is over, changes nothing."""
    first = await _open(amina, clock)
    await _press(first, "d0", amina, clock)
    again = await _press(first, "d2", amina, clock)
    assert again.kind == TurnKind.STALE
    assert again.reason is not None
    assert again.reason.msgid == "flow.press_old"
    assert (await Conversation.get()).answers["start"] == "2026-01-05"
    await cancel_flow(STAFF, clock=clock)
    over = await _press(first, "d0", amina, clock)
    assert over.kind == TurnKind.STALE
    assert over.reason is not None
    assert over.reason.msgid == "flow.press_finished"
    assert not await Conversation.exists()


async def test_two_processes_answering_at_once_save_one_answer(
    amina: Actor, clock: ManualClock
) -> None:
    """The same question answered twice at once (two processes, a double tap): the version
    check keeps exactly one answer."""
    first = await _open(amina, clock)
    turns = await asyncio.gather(
        _press(first, "d0", amina, clock), _press(first, "d2", amina, clock)
    )
    assert sorted(turn.kind for turn in turns) == [TurnKind.ASK, TurnKind.STALE]
    row = await Conversation.get()
    assert row.version == 2
    assert row.step == "end"


async def test_cancel_says_what_was_dropped(amina: Actor, clock: ManualClock) -> None:
    """/cancel mid-flow names the dates chosen; with nothing under way it says so."""
    assert (await cancel_flow(STAFF, clock=clock)).kind == TurnKind.NO_FLOW
    turn = await _press(await _open(amina, clock), "d1", amina, clock)
    await _press(turn, "e2", amina, clock)
    dropped = await cancel_flow(STAFF, clock=clock)
    assert dropped.kind == TurnKind.CANCELLED
    assert dropped.text is not None
    assert (dropped.text.msgid, dropped.text.params) == (
        "leave.flow.dropped_dates",
        {"start": "2026-01-06", "end": "2026-01-08"},
    )
    assert not await Conversation.exists()
    assert not await LeaveRequest.exists()


async def test_an_expired_flow_tells_the_person_when_they_next_write(
    amina: Actor, clock: ManualClock
) -> None:
    """30 minutes of silence: the next answer is not taken; the person learns why."""
    turn = await _press(await _open(amina, clock), "d1", amina, clock)
    clock.advance(timedelta(minutes=29))
    assert (await current_prompt(STAFF, actor=amina, clock=clock)).kind == TurnKind.ASK
    clock.advance(timedelta(minutes=1))
    assert (await current_prompt(STAFF, actor=amina, clock=clock)).kind == TurnKind.NO_FLOW
    late = await _press(turn, "e0", amina, clock)
    assert late.kind == TurnKind.EXPIRED
    assert late.text is not None
    assert (late.text.msgid, late.text.params) == (
        "leave.flow.expired_start",
        {"start": "2026-01-06", "minutes": 30},
    )
    assert not await Conversation.exists()


async def test_expire_flows_drops_them_and_queues_one_message_each(
    amina: Actor, clock: ManualClock
) -> None:
    """The minute tick finds the expired flow, deletes it and queues one message, once."""
    await _press(await _open(amina, clock), "d0", amina, clock)
    assert await expire_flows(clock) == 0
    clock.advance(timedelta(minutes=31))
    assert await expire_flows(clock) == 1
    assert await expire_flows(clock) == 0
    told = await OutboxMessage.get()
    assert (fk_id(told, "recipient"), told.msgid, told.params) == (
        amina.person.id,
        "leave.flow.expired_start",
        {"start": "2026-01-05", "minutes": 30},
    )
    assert not await Conversation.exists()


async def test_starting_a_flow_again_replaces_the_one_under_way(
    amina: Actor, clock: ManualClock
) -> None:
    """One flow per person: /leave twice starts afresh."""
    first = await _press(await _open(amina, clock), "d2", amina, clock)
    second = await _open(amina, clock)
    assert second.conversation_id != first.conversation_id
    row = await Conversation.get()
    assert (row.step, row.answers) == ("start", {})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("f1:12:3:d0", FlowPress(12, 3, "d0")),
        ("f1:12:3:zh-Hans", FlowPress(12, 3, "zh-Hans")),
        ("f1:12:3:", None),
        ("f1:12:x:d0", None),
        ("f1:-1:3:d0", None),
        ("f1:99999999999999999999:3:d0", None),
        ("f1:١٢:3:d0", None),  # non-ASCII digits
        ("f2:12:3:d0", None),
        ("", None),
    ],
)
def test_flow_button_data_round_trip_and_refusals(data: str, expected: FlowPress | None) -> None:
    """One builder and one parser; anything malformed parses to None."""
    assert parse_flow_button(data) == expected
    if expected is not None:
        built = flow_button_data(expected.conversation_id, expected.version, expected.value)
        assert built == data


async def _ask_photo(state: FlowState) -> Prompt:
    return Prompt(Text("flow.expects.photo"), [[Choice(SKIP, "flow.button.skip")]])


async def _take_photo(state: FlowState, answer: Answer) -> Moved:
    return Moved({"photo": answer.file_id})


async def _ask_place(state: FlowState) -> Prompt:
    return Prompt(Text("flow.expects.location"))


async def _take_place(state: FlowState, answer: Answer) -> Finished:
    if answer.lat is None or not -90 <= answer.lat <= 90:
        raise InvalidInput("no position", msgid="flow.expects.location")
    return Finished(Text("flow.dropped", {"photo": state.answers["photo"], "lat": answer.lat}))


# A flow of two steps that no command opens: a photo one may skip, then a location.
SNAPSHOT = Flow(
    name="snapshot",
    steps=(
        Step(
            "photo",
            _ask_photo,
            _take_photo,
            accepts=frozenset({AnswerKind.PHOTO, AnswerKind.DOCUMENT}),
            skippable=True,
        ),
        Step("place", _ask_place, _take_place, accepts=frozenset({AnswerKind.LOCATION})),
    ),
    dropped=lambda answers, expired: Text("flow.dropped"),
    ttl=timedelta(minutes=5),
)


@pytest.fixture
def with_snapshot(monkeypatch: pytest.MonkeyPatch) -> Flow:
    """The flows Outpost knows, plus SNAPSHOT."""
    known = conversations.flow_named
    monkeypatch.setattr(
        conversations, "flow_named", lambda name: SNAPSHOT if name == "snapshot" else known(name)
    )
    return SNAPSHOT


async def test_photo_and_location_answers_skip_and_a_per_flow_expiry(
    amina: Actor, clock: ManualClock, with_snapshot: Flow
) -> None:
    """A photo or document step, skipped once and answered once; a location step that refuses
    text and an impossible position; this flow's own 5-minute expiry."""
    turn = await start_flow(
        with_snapshot, telegram_id=STAFF, person=amina.person, actor=amina, clock=clock
    )
    turn = await _press(turn, SKIP, amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "flow.expects.location"
    assert (await Conversation.get()).answers["photo"] is None
    turn = await _press(turn, BACK, amina, clock)
    photo = Answer(AnswerKind.PHOTO, file_id="AgAD-photo")
    turn = await take_answer(STAFF, photo, actor=amina, clock=clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "flow.expects.location"
    skipped = await _press(turn, SKIP, amina, clock)  # the location step may not be skipped
    assert skipped.kind == TurnKind.REASK
    assert skipped.reason is not None
    assert skipped.reason.msgid == "flow.expects.location"
    text = await _type("at the office", amina, clock)
    assert text.reason is not None
    assert text.reason.msgid == "flow.expects.location"
    nowhere = Answer(AnswerKind.LOCATION, lat=123.0, lon=3.4)
    assert (await take_answer(STAFF, nowhere, actor=amina, clock=clock)).kind == TurnKind.REASK
    place = Answer(AnswerKind.LOCATION, lat=6.43, lon=3.42)
    done = await take_answer(STAFF, place, actor=amina, clock=clock)
    assert done.kind == TurnKind.DONE
    assert done.text is not None
    assert done.text.params == {"photo": "AgAD-photo", "lat": 6.43}

    await start_flow(with_snapshot, telegram_id=STAFF, person=amina.person, clock=clock)
    clock.advance(timedelta(minutes=5))
    late = await take_answer(STAFF, photo, actor=amina, clock=clock)
    assert late.kind == TurnKind.EXPIRED


async def test_the_cancel_button_drops_the_flow_like_the_command(
    amina: Actor, clock: ManualClock
) -> None:
    """✖️ Cancel on a question says what was dropped, as /cancel does."""
    turn = await _press(await _open(amina, clock), "d0", amina, clock)
    dropped = await _press(turn, CANCEL, amina, clock)
    assert dropped.kind == TurnKind.CANCELLED
    assert dropped.text == Text("leave.flow.dropped_start", {"start": "2026-01-05"})
    assert not await Conversation.exists()


async def test_two_processes_expiring_at_once_tell_the_person_once(
    amina: Actor, clock: ManualClock
) -> None:
    """The minute tick of two processes finds the same expired flow: one deletes it and
    queues the message, the other does nothing."""
    await _open(amina, clock)
    clock.advance(timedelta(minutes=30))
    counts = await asyncio.gather(expire_flows(clock), expire_flows(clock))
    assert sorted(counts) == [0, 1]
    assert await OutboxMessage.filter(msgid="leave.flow.expired").count() == 1


async def test_send_pressed_twice_at_once_files_one_request(
    amina: Actor, clock: ManualClock
) -> None:
    """Two processes take the same Send press at once: the claim of the conversation's version
    and the filing commit together, so one request is filed and the other press is refused."""
    turn = await _press(await _open(amina, clock), "d1", amina, clock)
    turn = await _press(turn, "e0", amina, clock)
    summary = await _type("dentist", amina, clock)
    turns = await asyncio.gather(
        _press(summary, "send", amina, clock), _press(summary, "send", amina, clock)
    )
    assert sorted(turn.kind for turn in turns) == [TurnKind.DONE, TurnKind.STALE]
    assert await LeaveRequest.all().count() == 1
    assert not await Conversation.exists()


def _generated(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    """`count` values drawn by Hypothesis (hostile text: control characters, surrogates of
    other scripts, huge numbers), for async tests that Hypothesis cannot drive itself."""
    drawn: list[str] = []

    @settings(max_examples=count, database=None, deadline=None)
    @given(strategy)
    def draw(value: str) -> None:
        drawn.append(value)

    draw()
    return drawn


HOSTILE = st.one_of(
    st.text(max_size=1200),
    st.from_regex(r"\A-?\d{1,25}-\d{1,25}(-\d{1,25})?\Z"),  # date-like, mostly impossible
    st.sampled_from(["9999-12-31", "0001-01-01", "02-29", "2026-02-29", "\x00", " ", "SOS"]),
)


async def test_any_typed_text_at_any_step_is_taken_or_asked_again(
    amina: Actor, clock: ManualClock
) -> None:
    """Generated text at every step of the leave flow: a question next (the same one with a
    reason, or the next one), never an exception, and nothing filed without Send."""
    texts = _generated(HOSTILE, 80)
    answers = {"start": "2026-01-06", "end": "2026-01-07", "reason": "visit"}
    for step in LEAVE_FLOW.steps:
        for text in texts:
            await open_flow(
                LEAVE_FLOW,
                telegram_id=STAFF,
                person=amina.person,
                clock=clock,
                answers=answers,
                step=step.name,
            )
            turn = await _type(text, amina, clock)
            assert turn.kind in (TurnKind.ASK, TurnKind.REASK), (step.name, text)
            assert turn.prompt is not None
    assert not await LeaveRequest.exists()


@settings(max_examples=300, database=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.binary(max_size=64).map(lambda raw: raw.decode("utf-8", "replace")),
    )
)
def test_any_callback_data_parses_or_is_refused(data: str) -> None:
    """Whatever a modified client sends, the parser returns a press or None, and a press
    it returns is one the builder makes again."""
    press = parse_flow_button(data)
    if press is not None:
        assert flow_button_data(press.conversation_id, press.version, press.value) == data


async def test_a_first_day_years_ahead_is_refused(amina: Actor, clock: ManualClock) -> None:
    """9999-12-31 is a typing slip: refused with the limit (and the last-day buttons, a few
    days after it, are never built past the calendar's end)."""
    await _open(amina, clock)
    turn = await _type("9999-12-31", amina, clock)
    assert turn.reason == Text("leave.too_far_ahead", {"days": 366})
    turn = await _type("2027-01-06", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.msgid == "leave.flow.ask_end"


async def test_control_characters_are_dropped_from_typed_text(
    amina: Actor, clock: ManualClock
) -> None:
    """A NUL (which PostgreSQL cannot store) is removed; line breaks stay."""
    await open_flow(
        LEAVE_FLOW,
        telegram_id=STAFF,
        person=amina.person,
        clock=clock,
        answers={"start": "2026-01-06", "end": "2026-01-06"},
        step="reason",
    )
    turn = await _type("family\x00 visit\nby bus\x07", amina, clock)
    assert turn.prompt is not None
    assert turn.prompt.text.params["reason"] == "family visit\nby bus"
    assert (await Conversation.get()).answers["reason"] == "family visit\nby bus"


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_msgids_made_up_from_parts_are_in_every_catalog(language: str) -> None:
    """The msgids a flow composes (what each kind of answer expects; what /cancel and expiry
    dropped), which the catalog scan of the source cannot see."""
    from babel.messages.pofile import read_po

    from i18n import LOCALES_DIR
    from services.leave_flow import dropped

    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = {str(message.id) for message in read_po(handle) if message.string}
    composed = {f"flow.expects.{kind}" for kind in AnswerKind if kind != AnswerKind.OTHER}
    for answers in ({}, {"start": "2026-01-06"}, {"start": "2026-01-06", "end": "2026-01-07"}):
        composed |= {dropped(answers, False).msgid, dropped(answers, True).msgid}
    assert composed <= catalog, composed - catalog
