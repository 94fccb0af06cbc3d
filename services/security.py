"""/security: anyone reports what they saw (text, an optional photo and place); safety officers
and HQ get it with a button that turns it into an alert."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.transactions import in_transaction

from db.enums import Lane
from db.models import Person, SecurityReport, Station
from services import alerts
from services.alert_flow import parse_point
from services.callbacks import SecurityToAlert, encode
from services.clock import Clock
from services.conversations import (
    BACK,
    CANCEL,
    SKIP,
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
from services.errors import InvalidInput, NotAllowed, NotFound
from services.notify import button, notify
from services.people import Actor

SEND = "send"
WHAT = frozenset({AnswerKind.TEXT, AnswerKind.PHOTO})
PHOTO = frozenset({AnswerKind.PHOTO})
PLACE = frozenset({AnswerKind.LOCATION, AnswerKind.TEXT})
CHOICE = frozenset({AnswerKind.CHOICE})


def _actor(state: FlowState) -> Actor:
    if state.actor is None:
        raise NotAllowed("reports need a registered person")
    return state.actor


def _navigation(*, back: bool = True, skip: bool = False) -> list[Choice]:
    row = [Choice(BACK, "flow.button.back")] if back else []
    if skip:
        row.append(Choice(SKIP, "flow.button.skip"))
    return [*row, Choice(CANCEL, "flow.button.cancel")]


async def _ask_text(state: FlowState) -> Prompt:
    return Prompt(Text("security.flow.ask_text"), [_navigation(back=False)])


async def _check_text(state: FlowState, answer: Answer) -> Moved:
    text = alerts.check_body(answer.text) if answer.text.strip() else ""
    if not text:
        raise InvalidInput("no text", msgid="security.flow.need_text")
    values: dict[str, Any] = {"text": text, "photo": None}
    if answer.kind == AnswerKind.PHOTO:
        values["photo"] = answer.file_id
        return Moved(values, goto="place")
    return Moved(values)


async def _ask_photo(state: FlowState) -> Prompt:
    return Prompt(Text("security.flow.ask_photo"), [_navigation(skip=True)])


async def _check_photo(state: FlowState, answer: Answer) -> Moved:
    return Moved({"photo": answer.file_id})


async def _ask_place(state: FlowState) -> Prompt:
    return Prompt(Text("security.flow.ask_place"), [_navigation(skip=True)])


async def _check_place(state: FlowState, answer: Answer) -> Moved:
    if answer.kind == AnswerKind.LOCATION and answer.lat is not None and answer.lon is not None:
        return Moved({"lat": answer.lat, "lon": answer.lon})
    lat, lon = parse_point(answer.text)
    return Moved({"lat": lat, "lon": lon})


async def _ask_confirm(state: FlowState) -> Prompt:
    answers = state.answers
    return Prompt(
        Text(
            "security.flow.summary",
            {
                "text": answers["text"],
                "photo": "📷" if answers.get("photo") else "—",
                "place": (
                    f"{answers['lat']:.5f}, {answers['lon']:.5f}"
                    if answers.get("lat") is not None
                    else "—"
                ),
            },
        ),
        [[Choice(SEND, "security.flow.send")], _navigation()],
    )


async def _check_confirm(state: FlowState, answer: Answer) -> Finished:
    if answer.text != SEND:
        raise InvalidInput("unknown button", msgid="flow.expects.choice")
    answers = state.answers
    await file_report(
        _actor(state),
        text=answers["text"],
        photo=answers.get("photo"),
        lat=answers.get("lat"),
        lon=answers.get("lon"),
        clock=state.clock,
    )
    return Finished(Text("security.filed"))


def dropped(answers: Mapping[str, Any], expired: bool) -> Text:
    """What /cancel or expiry dropped."""
    return Text("security.flow.expired" if expired else "security.flow.dropped")


SECURITY_FLOW = Flow(
    name="security",
    steps=(
        Step("text", _ask_text, _check_text, accepts=WHAT, back=False),
        Step("photo", _ask_photo, _check_photo, accepts=PHOTO, skippable=True),
        Step("place", _ask_place, _check_place, accepts=PLACE, skippable=True),
        Step("confirm", _ask_confirm, _check_confirm, accepts=CHOICE),
    ),
    dropped=dropped,
)


async def officers() -> list[Person]:
    """Safety officers and HQ (and admins), each once."""
    return await alerts.officers()


async def file_report(
    actor: Actor,
    *,
    text: str,
    photo: str | None,
    lat: float | None,
    lon: float | None,
    clock: Clock,
) -> SecurityReport:
    """Keep the report and send it to safety officers and HQ with "Make an alert"."""
    now = clock.now()
    async with in_transaction():
        report = await SecurityReport.create(
            person_id=actor.person.id,
            station_id=actor.person.station_id,
            created_at=now,
            text=text,
            photo_file_id=photo,
            lat=lat,
            lon=lon,
        )
        station = await Station.get_or_none(id=actor.person.station_id or 0)
        for officer in await officers():
            await notify(
                recipient=officer,
                msgid="security.report",
                params={
                    "name": actor.person.name,
                    "station": station.code if station is not None else "—",
                    "text": text,
                    "photo": "📷" if photo else "",
                    "place": f"{lat:.5f}, {lon:.5f}"
                    if lat is not None and lon is not None
                    else "—",
                },
                buttons=[
                    [
                        button(
                            "security.make_alert", callback_data=encode(SecurityToAlert(report.id))
                        )
                    ]
                ],
                lane=Lane.ESCALATION,
                idempotency_key=f"security:{report.id}:{officer.id}",
                source_kind="security_report",
                source_id=report.id,
                clock=clock,
            )
    return report


async def alert_answers(
    actor: Actor | None, report_id: int
) -> tuple[SecurityReport, dict[str, Any]]:
    """The composer's answers pre-filled from a report (only for those who send alerts)."""
    await alerts.require_sender(actor)
    report = await SecurityReport.get_or_none(id=report_id)
    if report is None:
        raise NotFound("no such report")
    title = report.text.split("\n", 1)[0][: alerts.MAX_TITLE].strip()
    return report, {
        "report_id": report.id,
        "draft_title": title,
        "draft_body": report.text,
        "draft_lat": report.lat,
        "draft_lon": report.lon,
    }
