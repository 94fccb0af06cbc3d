"""/alert from a phone: severity, audience, title, text, an optional second language, expiry,
whether an answer is required, then a preview with the exact number of recipients and Send."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from db.enums import AlertScope, Severity
from db.models import SecurityReport
from i18n import format_distance, language_name, translate
from services import alerts
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
from services.errors import InvalidInput, NotAllowed
from services.people import Actor

SEND, YES, NO, KEEP = "send", "yes", "no", "keep"
LANGUAGES = ("en", "zh-Hans")
RADII_KM = (1, 5, 20, 50)
EXPIRY_HOURS = (6, 24, 72)
CHOICE = frozenset({AnswerKind.CHOICE})
TYPED = frozenset({AnswerKind.CHOICE, AnswerKind.TEXT})
TEXT = frozenset({AnswerKind.TEXT})
POINT = frozenset({AnswerKind.CHOICE, AnswerKind.TEXT, AnswerKind.LOCATION})
_POINT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$")


def _actor(state: FlowState) -> Actor:
    if state.actor is None:
        raise NotAllowed("alerts need a registered person")
    return state.actor


def _navigation(*, back: bool = True, skip: bool = False) -> list[Choice]:
    row = [Choice(BACK, "flow.button.back")] if back else []
    if skip:
        row.append(Choice(SKIP, "flow.button.skip"))
    return [*row, Choice(CANCEL, "flow.button.cancel")]


def _unknown() -> InvalidInput:
    return InvalidInput("unknown button", msgid="flow.expects.choice")


async def _ask_severity(state: FlowState) -> Prompt:
    await alerts.require_sender(_actor(state))
    return Prompt(
        Text("alert.flow.ask_severity"),
        [
            [Choice(severity.value, f"alert.severity.{severity.value}") for severity in Severity],
            _navigation(back=False),
        ],
    )


async def _check_severity(state: FlowState, answer: Answer) -> Moved:
    try:
        severity = Severity(answer.text)
    except ValueError:
        raise _unknown() from None
    return Moved({"severity": severity.value})


async def _ask_audience(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_audience"),
        [
            [Choice(AlertScope.ALL.value, "alert.flow.everyone")],
            [
                Choice(AlertScope.COUNTRY.value, "alert.flow.by_country"),
                Choice(AlertScope.STATION.value, "alert.flow.by_station"),
            ],
            [Choice(AlertScope.AREA.value, "alert.flow.by_area")],
            _navigation(),
        ],
    )


async def _check_audience(state: FlowState, answer: Answer) -> Moved:
    try:
        scope = AlertScope(answer.text)
    except ValueError:
        raise _unknown() from None
    values: dict[str, Any] = {
        "scope": scope.value,
        "values": [],
        "lat": None,
        "lon": None,
        "radius_m": None,
    }
    if scope == AlertScope.ALL:
        return Moved(values, goto="title")
    if scope == AlertScope.AREA and state.answers.get("draft_lat") is not None:
        # A field report's place is the centre: only the radius is asked.
        values.update(lat=state.answers["draft_lat"], lon=state.answers["draft_lon"])
        return Moved(values, goto="radius")
    return Moved(
        values,
        goto={
            AlertScope.COUNTRY: "countries",
            AlertScope.STATION: "stations",
            AlertScope.AREA: "point",
        }[scope],
    )


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in re.split(r"[,，\s]+", text) if code.strip()]


async def _ask_countries(state: FlowState) -> Prompt:
    codes = await alerts.countries()
    rows = [
        [Choice(code, code, literal=True) for code in codes[i : i + 4]]
        for i in range(0, len(codes), 4)
    ]
    return Prompt(Text("alert.flow.ask_countries"), [*rows, _navigation()])


async def _check_countries(state: FlowState, answer: Answer) -> Moved:
    known = set(await alerts.countries())
    codes = _codes(answer.text)
    if not codes or not set(codes) <= known:
        raise InvalidInput(
            "unknown country", msgid="alert.flow.bad_country", known=", ".join(sorted(known))
        )
    return Moved({"values": codes}, goto="title")


async def _ask_stations(state: FlowState) -> Prompt:
    codes = [station.code for station in await alerts.stations()]
    rows = [
        [Choice(code, code, literal=True) for code in codes[i : i + 4]]
        for i in range(0, len(codes), 4)
    ]
    return Prompt(Text("alert.flow.ask_stations"), [*rows, _navigation()])


async def _check_stations(state: FlowState, answer: Answer) -> Moved:
    known = {station.code.upper() for station in await alerts.stations()}
    codes = _codes(answer.text)
    if not codes or not set(codes) <= known:
        raise InvalidInput(
            "unknown station", msgid="alert.flow.bad_station", known=", ".join(sorted(known))
        )
    return Moved({"values": codes}, goto="title")


async def _ask_point(state: FlowState) -> Prompt:
    return Prompt(Text("alert.flow.ask_point"), [_navigation()])


def parse_point(text: str) -> tuple[float, float]:
    """ "lat, lon" typed by hand; InvalidInput when it is not a point on Earth."""
    match = _POINT.match(text)
    if match is None:
        raise InvalidInput("not a point", msgid="alert.error.bad_point")
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("not a point", msgid="alert.error.bad_point")
    return lat, lon


async def _check_point(state: FlowState, answer: Answer) -> Moved:
    if answer.kind == AnswerKind.LOCATION and answer.lat is not None and answer.lon is not None:
        lat, lon = answer.lat, answer.lon
    elif answer.kind == AnswerKind.TEXT:
        lat, lon = parse_point(answer.text)
    else:
        raise InvalidInput("not a point", msgid="alert.error.bad_point")
    return Moved({"lat": lat, "lon": lon}, goto="radius")


async def _ask_radius(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_radius"),
        [
            [
                Choice(str(km), format_distance(state.language, km * 1000), literal=True)
                for km in RADII_KM
            ],
            _navigation(),
        ],
    )


async def _check_radius(state: FlowState, answer: Answer) -> Moved:
    try:
        km = float(answer.text.replace(",", ".").lower().removesuffix("km").strip())
    except ValueError:
        raise InvalidInput("bad radius", msgid="alert.error.bad_radius") from None
    radius = int(km * 1000)
    if not 0 < radius <= alerts.MAX_RADIUS_M:
        raise InvalidInput("bad radius", msgid="alert.error.bad_radius")
    return Moved({"radius_m": radius}, goto="title")


def _first_language(state: FlowState) -> str:
    return "zh-Hans" if state.language.startswith("zh") else "en"


def _other_language(state: FlowState) -> str:
    return "en" if _first_language(state) == "zh-Hans" else "zh-Hans"


def _keep(state: FlowState, key: str, msgid: str) -> list[list[Choice]]:
    """A button taking the text of the field report the alert starts from, if any."""
    draft_text = state.answers.get(key)
    if not draft_text:
        return []
    short = draft_text if len(draft_text) <= 40 else draft_text[:39] + "…"
    return [[Choice(KEEP, msgid, {"text": short})]]


def _typed_or_kept(state: FlowState, answer: Answer, key: str) -> str:
    if answer.kind == AnswerKind.CHOICE:
        if answer.text != KEEP or not state.answers.get(key):
            raise _unknown()
        return str(state.answers[key])
    return answer.text


async def _ask_title(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_title", {"limit": alerts.MAX_TITLE}),
        [*_keep(state, "draft_title", "alert.flow.keep"), _navigation()],
    )


async def _check_title(state: FlowState, answer: Answer) -> Moved:
    return Moved({"title": alerts.check_title(_typed_or_kept(state, answer, "draft_title"))})


async def _ask_body(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_body"),
        [*_keep(state, "draft_body", "alert.flow.keep"), _navigation()],
    )


async def _check_body(state: FlowState, answer: Answer) -> Moved:
    body = alerts.check_body(_typed_or_kept(state, answer, "draft_body"))
    return Moved({"body": body, "title2": None, "body2": None})


async def _ask_second(state: FlowState) -> Prompt:
    other = _other_language(state)
    return Prompt(
        Text("alert.flow.ask_second", {"language": language_name(other)}),
        [
            [Choice(YES, "alert.flow.add_language", {"language": language_name(other)})],
            _navigation(skip=True),
        ],
    )


async def _check_second(state: FlowState, answer: Answer) -> Moved:
    if answer.text != YES:
        raise _unknown()
    return Moved(goto="title2")


async def _ask_title2(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_title2", {"language": language_name(_other_language(state))}),
        [_navigation()],
    )


async def _check_title2(state: FlowState, answer: Answer) -> Moved:
    return Moved({"title2": alerts.check_title(answer.text)}, goto="body2")


async def _ask_body2(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_body2", {"language": language_name(_other_language(state))}),
        [_navigation()],
    )


async def _check_body2(state: FlowState, answer: Answer) -> Moved:
    return Moved({"body2": alerts.check_body(answer.text)}, goto="expiry")


async def _ask_expiry(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_expiry"),
        [
            [Choice(f"h{hours}", "alert.flow.hours", {"hours": hours}) for hours in EXPIRY_HOURS],
            [Choice("none", "alert.flow.no_expiry")],
            _navigation(),
        ],
    )


async def _check_expiry(state: FlowState, answer: Answer) -> Moved:
    if answer.text == "none":
        return Moved({"expiry_hours": None})
    if answer.text.startswith("h") and answer.text[1:].isdigit():
        hours = int(answer.text[1:])
        if hours in EXPIRY_HOURS:
            return Moved({"expiry_hours": hours})
    raise _unknown()


async def _ask_ack(state: FlowState) -> Prompt:
    return Prompt(
        Text("alert.flow.ask_ack"),
        [
            [Choice(YES, "alert.flow.ack_yes"), Choice(NO, "alert.flow.ack_no")],
            _navigation(),
        ],
    )


async def _check_ack(state: FlowState, answer: Answer) -> Moved:
    if answer.text not in (YES, NO):
        raise _unknown()
    return Moved({"requires_ack": answer.text == YES})


def draft(answers: Mapping[str, Any], language: str, now: datetime) -> alerts.Draft:
    """The alert the answers describe."""
    first = "zh-Hans" if language.startswith("zh") else "en"
    other = "en" if first == "zh-Hans" else "zh-Hans"
    texts = {first: {"title": answers["title"], "body": answers["body"]}}
    if answers.get("title2") and answers.get("body2"):
        texts[other] = {"title": answers["title2"], "body": answers["body2"]}
    hours = answers.get("expiry_hours")
    radius = answers.get("radius_m")
    return alerts.Draft(
        severity=Severity(answers["severity"]),
        audience=alerts.Audience(
            scope=AlertScope(answers["scope"]),
            values=tuple(answers.get("values") or ()),
            lat=answers.get("lat"),
            lon=answers.get("lon"),
            radius_m=int(radius) if radius is not None else None,
        ),
        texts=texts,
        expires_at=now + timedelta(hours=hours) if hours else None,
        requires_ack=bool(answers.get("requires_ack", True)),
    )


def _audience_text(state: FlowState, audience: alerts.Audience) -> Text:
    if audience.scope == AlertScope.ALL:
        return Text("alert.audience.all")
    if audience.scope == AlertScope.AREA:
        return Text(
            "alert.audience.area",
            {
                "radius": format_distance(state.language, audience.radius_m or 0),
                "lat": f"{audience.lat:.5f}",
                "lon": f"{audience.lon:.5f}",
            },
        )
    return Text(f"alert.audience.{audience.scope.value}", {"codes": ", ".join(audience.values)})


async def _ask_confirm(state: FlowState) -> Prompt:
    await alerts.require_sender(_actor(state))
    composed = draft(state.answers, state.language, state.clock.now())
    audience = _audience_text(state, composed.audience)
    return Prompt(
        Text(
            "alert.flow.preview",
            {
                "severity": translate(state.language, f"alert.severity.{composed.severity.value}"),
                "audience": translate(state.language, audience.msgid, **audience.params),
                "count": await alerts.count(composed.audience),
                "title": state.answers["title"],
                "body": state.answers["body"],
            },
        ),
        [[Choice(SEND, "alert.flow.send")], _navigation()],
    )


async def _check_confirm(state: FlowState, answer: Answer) -> Finished:
    if answer.text != SEND:
        raise _unknown()
    alert = await alerts.send(
        _actor(state), draft(state.answers, state.language, state.clock.now()), clock=state.clock
    )
    if state.answers.get("report_id"):
        await SecurityReport.filter(id=int(state.answers["report_id"])).update(alert_id=alert.id)
    return Finished(Text("alert.flow.sent", {"id": alert.id, "count": alert.recipient_count}))


def dropped(answers: Mapping[str, Any], expired: bool) -> Text:
    """What /cancel or expiry dropped."""
    return Text("alert.flow.expired" if expired else "alert.flow.dropped")


ALERT_FLOW = Flow(
    name="alert",
    steps=(
        Step("severity", _ask_severity, _check_severity, accepts=CHOICE, back=False),
        Step("audience", _ask_audience, _check_audience, accepts=CHOICE),
        Step("countries", _ask_countries, _check_countries, accepts=TYPED, jump_only=True),
        Step("stations", _ask_stations, _check_stations, accepts=TYPED, jump_only=True),
        Step("point", _ask_point, _check_point, accepts=POINT, jump_only=True),
        Step("radius", _ask_radius, _check_radius, accepts=TYPED, jump_only=True),
        Step("title", _ask_title, _check_title, accepts=TYPED),
        Step("body", _ask_body, _check_body, accepts=TYPED),
        Step("second", _ask_second, _check_second, accepts=CHOICE, skippable=True),
        Step("title2", _ask_title2, _check_title2, accepts=TEXT, jump_only=True),
        Step("body2", _ask_body2, _check_body2, accepts=TEXT, jump_only=True),
        Step("expiry", _ask_expiry, _check_expiry, accepts=CHOICE),
        Step("ack", _ask_ack, _check_ack, accepts=CHOICE),
        Step("confirm", _ask_confirm, _check_confirm, accepts=CHOICE),
    ),
    dropped=dropped,
)
