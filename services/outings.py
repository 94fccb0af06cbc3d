"""Outings (外出请示): asked, approved in one tap, out and back, and overdue escalation.

The rules live here; handlers/chat/outings.py renders them and services/outing_flow.py asks for
an outing step by step. db/outings.py keeps one open outing per person. Every effect outside
the database goes through the outbox; every timed step is a deadline (docs/decisions/0014).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from db.enums import IncidentKind, Lane, OutingStatus, RequestStatus, Role
from db.models import (
    AuditLog,
    Deadline,
    Incident,
    LeaveRequest,
    Outing,
    Person,
    PersonRole,
    Station,
)
from db.outings import close_outing, open_outing
from i18n import format_clock
from services import notify as outbox
from services.attendance import MAX_CLOCK_SKEW, MAX_POSITION_AGE, distance_m, heads_of
from services.callbacks import OutingMove, OutingNotMe, OutingReply, OutingVerdict, encode
from services.clock import Clock, ensure_utc
from services.deadlines import cancel as cancel_deadline
from services.deadlines import schedule
from services.duty import on_duty
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.localtime import at_local, local_date, station_zone
from services.notify import edit, messages_to_edit, notify
from services.organisation_models import OutingPolicy
from services.people import Actor
from services.sos import open_incident
from services.validation import free_text, row_id

logger = logging.getLogger(__name__)

SOURCE = "outing"
WATCH = "outing_watch"  # the escalation ladder of one outing
DEAD_MAN = "outing_dead_man"  # time to ask "I'm OK?"
DEAD_MAN_MISS = "outing_dead_man_miss"  # the "I'm OK" tap did not come in time
MAX_DESTINATION = 300
MAX_PURPOSE = 500
# A departure typed a little before now (a slow typist) still counts as now.
DEPARTURE_SLACK = timedelta(minutes=10)
# "I'm safe, need more time" moves the return this much later.
MORE_TIME = timedelta(minutes=30)
MAX_COMPANION_BUTTONS = 12
# A live position this recent says where someone who taps "I'm back" is.
FRESH_POSITION = timedelta(minutes=10)

# The escalation ladder: the level an outing is at names what happens next.
REMINDER, ARE_YOU_BACK, HEADS_ALERTED, SAFETY_ALERTED, INCIDENT, DONE = range(6)

_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)$")
_DURATION = re.compile(r"^(?:(\d{1,2}(?:[.,]\d)?)\s*h)?\s*(?:(\d{1,3})\s*(?:m|min)?)?$")


def policy_of(station: Station) -> OutingPolicy:
    """The station's outing rules (defaults where the organisation file gives none)."""
    return OutingPolicy.stored(station.outing_policy)


def _gap(policy: OutingPolicy, level: int) -> timedelta | None:
    """How long after the step at `level` the next one comes (None after the last)."""
    minutes = {
        REMINDER: policy.reminder_before_min,
        ARE_YOU_BACK: policy.grace_1_min,
        HEADS_ALERTED: policy.grace_2_min,
        SAFETY_ALERTED: policy.grace_3_min,
    }.get(level)
    return timedelta(minutes=minutes) if minutes is not None else None


def first_step(policy: OutingPolicy, returns_at: datetime) -> tuple[int, datetime]:
    """The first level of the ladder and when it falls due, for a promised return."""
    if policy.reminder_before_min > 0:
        return REMINDER, returns_at - timedelta(minutes=policy.reminder_before_min)
    return ARE_YOU_BACK, returns_at


# ---------------------------------------------------------------- times


def parse_when(text: str, *, base: datetime, zone: ZoneInfo) -> datetime | None:
    """A time of day on the station's clock (`16:30`, `1630`, `16h30`: today) or a duration
    from `base` (`2h`, `90m`, `1h30`, `1.5h`); None when it is neither."""
    text = text.strip().lower().replace(" ", "")
    match = _CLOCK.match(text)
    # 16h30 is half past four; 1h30 is an hour and a half.
    hour_first = len(text.split("h")[0]) == 2
    if match is not None and (
        ":" in text
        or "." in text
        or (len(text) == 4 and text.isdigit())
        or ("h" in text and hour_first)
    ):
        wall = time(int(match.group(1)), int(match.group(2)))
        return at_local(local_date(base, zone), wall, zone)
    match = _DURATION.match(text)
    if match is None or not text or not any(match.groups()) or text.isdigit():
        return None
    hours = float((match.group(1) or "0").replace(",", "."))
    minutes = int(match.group(2) or 0)
    if hours == 0 and minutes == 0:
        return None
    return base + timedelta(hours=hours, minutes=minutes)


def check_departure(leaves_at: datetime, *, now: datetime, zone: ZoneInfo) -> datetime:
    """A departure: not in the past (a few minutes' slack: then it is now), and today."""
    if leaves_at < now - DEPARTURE_SLACK:
        raise InvalidInput("departure in the past", msgid="outing.departure_past")
    if local_date(leaves_at, zone) != local_date(now, zone):
        raise InvalidInput("departure not today", msgid="outing.departure_not_today")
    return max(leaves_at, now)


def check_return(
    policy: OutingPolicy,
    *,
    leaves_at: datetime,
    returns_at: datetime,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    """Refuse a return before the departure, in the past, beyond the longest outing or on
    another day (nobody stays out overnight), each with its own re-ask."""
    if returns_at <= now:
        raise InvalidInput("return in the past", msgid="outing.return_past")
    if returns_at <= leaves_at:
        raise InvalidInput("return before departure", msgid="outing.return_before_departure")
    if returns_at - leaves_at > timedelta(hours=policy.longest_hours):
        raise InvalidInput("too long", msgid="outing.too_long", hours=f"{policy.longest_hours:g}")
    if local_date(returns_at, zone) != local_date(leaves_at, zone):
        raise InvalidInput("overnight", msgid="outing.overnight")


def is_night(
    policy: OutingPolicy, *, leaves_at: datetime, returns_at: datetime, zone: ZoneInfo
) -> bool:
    """True when any part of the outing falls in the station's night window."""
    day = local_date(leaves_at, zone)
    for offset in (-1, 0, 1):
        start_day = day + timedelta(days=offset)
        starts = at_local(start_day, policy.night_starts, zone)
        end_day = (
            start_day + timedelta(days=1)
            if policy.night_ends <= policy.night_starts
            else start_day
        )
        ends = at_local(end_day, policy.night_ends, zone)
        if leaves_at < ends and returns_at > starts:
            return True
    return False


def is_high_risk(policy: OutingPolicy, lat: float | None, lon: float | None) -> bool:
    """True in a country marked high-risk, or when the destination lies in a high-risk area."""
    if policy.high_risk_country:
        return True
    if lat is None or lon is None:
        return False
    return any(
        _metres(area.lat, area.lon, lat, lon) <= area.radius_m for area in policy.high_risk_areas
    )


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def check_destination(text: str) -> str:
    """The destination, trimmed; refused when empty or too long."""
    text = free_text(text).strip()
    if not text:
        raise InvalidInput("no destination", msgid="outing.no_destination")
    if len(text) > MAX_DESTINATION:
        raise InvalidInput(
            "destination too long", msgid="outing.too_long_text", limit=MAX_DESTINATION
        )
    return text


def check_purpose(text: str) -> str:
    """The purpose, trimmed; refused when empty or too long."""
    text = free_text(text).strip()
    if not text:
        raise InvalidInput("no purpose", msgid="outing.no_purpose")
    if len(text) > MAX_PURPOSE:
        raise InvalidInput("purpose too long", msgid="outing.too_long_text", limit=MAX_PURPOSE)
    return text


def parse_one_line(text: str) -> tuple[str, str | None]:
    """`Ikeja market, back 16:30` or `Ikeja market, 2h` → (destination, the return as typed);
    the return is None when only a destination was given."""
    destination, sep, rest = text.rpartition(",")
    if not sep:
        return text.strip(), None
    rest = rest.strip()
    lowered = rest.lower()
    for word in ("back at", "back by", "back", "until", "回来", "返回"):
        if lowered.startswith(word):
            rest = rest[len(word) :].strip()
            break
    return destination.strip(), rest or None


# ---------------------------------------------------------------- who


async def station_of(actor: Actor) -> Station:
    """The actor's station; outings are asked from a station."""
    if actor.person.station_id is None:
        raise NotAllowed("no station", msgid="outing.no_station")
    return await Station.get(id=actor.person.station_id)


async def companion_choices(actor: Actor) -> list[Person]:
    """The station's other registered, active people, to pick companions from."""
    return (
        await Person.filter(
            station_id=actor.person.station_id, active=True, registration_step__isnull=True
        )
        .exclude(id=actor.person.id)
        .order_by("name")
        .limit(MAX_COMPANION_BUTTONS)
    )


async def _away(person_ids: Iterable[int], day: date) -> set[int]:
    """Of these people, those on approved leave that day or out on an outing now."""
    ids = list(person_ids)
    on_leave = await LeaveRequest.filter(
        person_id__in=ids, status=RequestStatus.APPROVED, start_date__lte=day, end_date__gte=day
    ).values_list("person_id", flat=True)
    out = await Outing.filter(person_id__in=ids, status=OutingStatus.OUT).values_list(
        "person_id", flat=True
    )
    return {int(pid) for pid in [*on_leave, *out]}  # type: ignore[call-overload]


async def _holders(*roles: Role) -> list[Person]:
    grants = (
        await PersonRole.filter(
            role__in=list(roles), person__active=True, person__registration_step__isnull=True
        )
        .prefetch_related("person")
        .order_by("id")
    )
    seen: dict[int, Person] = {}
    for grant in grants:
        seen.setdefault(grant.person.id, grant.person)
    return list(seen.values())


async def first_deciders(outing: Outing, *, now: datetime) -> list[Person]:
    """Who approves first: the station's heads who are in; when none is, the person on duty;
    when nobody is on duty either, HQ. Never the requester."""
    station = await Station.get_or_none(id=outing.station_id) if outing.station_id else None
    if station is not None:
        day = local_date(now, station_zone(station))
        heads = [h for h in await heads_of(station.id) if h.id != outing.person_id]
        away = await _away([h.id for h in heads], day)
        present = [h for h in heads if h.id not in away]
        if present:
            return present
        duty = await on_duty(station.id, day)
        if duty is not None and duty.id != outing.person_id and duty.active:
            return [duty]
    return [p for p in await _holders(Role.HQ) if p.id != outing.person_id]


async def second_deciders(outing: Outing) -> list[Person]:
    """Who approves a night outing the second time: safety officers and HQ."""
    return [
        p
        for p in await _holders(Role.SAFETY, Role.HQ)
        if p.id not in (outing.person_id, outing.first_approved_by_id)
    ]


async def _may_decide(actor: Actor, outing: Outing, *, now: datetime) -> bool:
    if actor.person.id == outing.person_id:
        return False
    if outing.first_approved_by_id is not None:
        return actor.has(Role.SAFETY, Role.HQ) and actor.person.id != outing.first_approved_by_id
    deciders = {p.id for p in await first_deciders(outing, now=now)}
    if actor.person.id in deciders:
        return True
    # A head of the station who was away when it was asked may still decide it.
    return actor.has(Role.HEAD) and actor.person.station_id == outing.station_id


async def _escalation_people(outing: Outing, level: int, *, now: datetime) -> list[Person]:
    """Who an escalation step reaches: heads and the person on duty; then safety and HQ."""
    people: dict[int, Person] = {}
    if level >= HEADS_ALERTED and outing.station_id is not None:
        station = await Station.get(id=outing.station_id)
        for head in await heads_of(station.id):
            people[head.id] = head
        duty = await on_duty(station.id, local_date(now, station_zone(station)))
        if duty is not None:
            people[duty.id] = duty
    if level >= SAFETY_ALERTED or outing.station_id is None:
        for person in await _holders(Role.SAFETY, Role.HQ):
            people[person.id] = person
    people.pop(outing.person_id, None)
    return list(people.values())


# ---------------------------------------------------------------- asking


@dataclass(frozen=True)
class OutingPlan:
    """An outing as asked: where, why, with whom, when out and back."""

    destination: str
    purpose: str
    returns_at: datetime
    leaves_at: datetime | None = None  # None: now
    companions: Sequence[int] = field(default_factory=tuple)
    lat: float | None = None
    lon: float | None = None


def _when(instant: datetime | None, person: Person, zone: ZoneInfo) -> str:
    return format_clock(person.language, instant, zone) if instant is not None else ""


async def _zone_of(outing: Outing) -> ZoneInfo:
    if outing.station_id is None:
        return ZoneInfo("UTC")
    return station_zone(await Station.get(id=outing.station_id))


async def _card(outing: Outing, reader: Person, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    requester = await Person.get(id=outing.person_id)
    return {
        "name": requester.name,
        "destination": outing.destination,
        "purpose": outing.purpose,
        # Not gone yet and no time given: leaving as soon as it is approved.
        "leaves": _when(outing.leaves_at or outing.decided_at or now, reader, zone),
        "returns": _when(outing.expected_return_at, reader, zone),
        "companions": outing.companions or "—",
        "phone": requester.phone or "—",
    }


def _verdict_buttons(outing_id: int) -> list[list[dict[str, Any]]]:
    return [
        [
            outbox.button(
                "button.approve",
                callback_data=encode(OutingVerdict(outing_id, OutingVerdict.APPROVE)),
            ),
            outbox.button(
                "button.refuse",
                callback_data=encode(OutingVerdict(outing_id, OutingVerdict.REFUSE)),
            ),
        ],
        [
            outbox.button(
                "outing.button.ask",
                callback_data=encode(OutingVerdict(outing_id, OutingVerdict.ASK)),
            )
        ],
    ]


def _marks(outing: Outing) -> str:
    return ("🌙" if outing.is_night else "") + ("⚠️" if outing.is_high_risk else "")


async def _send_cards(
    outing: Outing, deciders: Sequence[Person], *, msgid: str, clock: Clock
) -> None:
    zone = await _zone_of(outing)
    for decider in deciders:
        await notify(
            recipient=decider,
            msgid=msgid,
            params={**await _card(outing, decider, zone, clock.now()), "marks": _marks(outing)},
            buttons=_verdict_buttons(outing.id),
            lane=Lane.APPROVAL,
            idempotency_key=f"outing-ask:{outing.id}:{msgid}:{decider.id}",
            source_kind=SOURCE,
            source_id=outing.id,
            clock=clock,
        )


async def request_outing(*, actor: Actor, plan: OutingPlan, clock: Clock) -> Outing:
    """File an outing and send its card to whoever approves it first."""
    station = await station_of(actor)
    policy, zone, now = policy_of(station), station_zone(station), clock.now()
    destination, purpose = check_destination(plan.destination), check_purpose(plan.purpose)
    leaves_at = check_departure(plan.leaves_at or now, now=now, zone=zone)
    check_return(policy, leaves_at=leaves_at, returns_at=plan.returns_at, now=now, zone=zone)
    companions = (
        await Person.filter(
            id__in=list(plan.companions),
            station_id=station.id,
            active=True,
            registration_step__isnull=True,
        )
        .exclude(id=actor.person.id)
        .order_by("name")
    )
    if len(companions) != len(set(plan.companions)):
        raise InvalidInput("unknown companion", msgid="outing.bad_companion")
    if policy.companion_required and not companions:
        raise InvalidInput("companion required", msgid="outing.companion_required")
    night = is_night(policy, leaves_at=leaves_at, returns_at=plan.returns_at, zone=zone)
    async with in_transaction():
        outing, created = await open_outing(
            person_id=actor.person.id,
            station_id=station.id,
            destination=destination,
            purpose=purpose,
            expected_return_at=plan.returns_at,
            leaves_at=plan.leaves_at and leaves_at,
            companions=", ".join(p.name for p in companions),
            contact_phone=actor.person.phone,
            is_night=night,
            is_high_risk=is_high_risk(policy, plan.lat, plan.lon),
            dest_lat=plan.lat,
            dest_lon=plan.lon,
        )
        if not created:
            raise Conflict("an outing is open", msgid="outing.already_open")
        deciders = await first_deciders(outing, now=now)
        if not deciders:
            raise InvalidInput("nobody to decide", msgid="outing.no_decider")
        await AuditLog.create(
            at=now,
            actor_id=actor.person.id,
            action="outing.asked",
            object_kind=SOURCE,
            object_id=outing.id,
            data={"companions": [p.id for p in companions]},
        )
        await _send_cards(outing, deciders, msgid="outing.ask_decider", clock=clock)
    return outing


# ---------------------------------------------------------------- deciding


@dataclass(frozen=True)
class OutingDecision:
    """What a decider's press did: approved, refused, or the first of two approvals."""

    outing: Outing
    verdict: str  # "approved", "refused" or "first_approved"


async def _pending(outing_id: int) -> Outing:
    outing = await Outing.get_or_none(id=row_id(outing_id))
    if outing is None:
        raise NotFound("no such outing")
    return outing


async def check_decider(actor: Actor, outing_id: int, *, clock: Clock) -> Outing:
    """The pending outing, if the actor may decide it (refusing anyone else)."""
    outing = await _pending(outing_id)
    if not await _may_decide(actor, outing, now=clock.now()):
        raise NotAllowed("not the decider")
    if outing.status != OutingStatus.PENDING:
        raise Conflict("already decided", msgid="outing.already_decided")
    return outing


async def _edit_cards(
    outing: Outing, *, actor: Actor, msgid: str, clock: Clock, step: str, own: bool = False
) -> None:
    """Every other decider's card says who decided, without buttons; the decider's own card
    too with `own` (a refusal, decided in a flow after the press; an approval's card is
    changed by the handler that took the press)."""
    for card_msgid in ("outing.ask_decider", "outing.ask_second"):
        for card in await messages_to_edit(SOURCE, outing.id, msgid=card_msgid):
            if card.recipient_id == actor.person.id and not own:  # type: ignore[attr-defined]
                continue
            await edit(
                original=card,
                msgid=msgid,
                params={**card.params, "by": actor.person.name},
                idempotency_key=f"outing-card:{card.id}:{step}",
                clock=clock,
            )


async def decide_outing(
    *, actor: Actor, outing_id: int, approve: bool, clock: Clock, note: str = ""
) -> OutingDecision:
    """Approve or refuse a pending outing; the first decision wins. A night outing approved by
    the head waits for safety or HQ."""
    outing = await check_decider(actor, outing_id, clock=clock)
    now = clock.now()
    first = outing.first_approved_by_id
    async with in_transaction():
        if approve and outing.is_night and first is None:
            changed = await Outing.filter(
                id=outing.id, status=OutingStatus.PENDING, first_approved_by_id=None
            ).update(first_approved_by_id=actor.person.id, updated_at=now)
            if not changed:
                raise Conflict("already decided", msgid="outing.already_decided")
            await outing.refresh_from_db()
            await _audit(actor, outing, "outing.first_approved", now)
            await _edit_cards(
                outing,
                actor=actor,
                msgid="outing.card_first_approved_by",
                clock=clock,
                step="first",
            )
            seconds = await second_deciders(outing)
            if not seconds:
                raise InvalidInput("nobody to decide", msgid="outing.no_second_decider")
            await _send_cards(outing, seconds, msgid="outing.ask_second", clock=clock)
            await _tell_requester(outing, "outing.first_approved", actor, clock)
            return OutingDecision(outing, "first_approved")
        status = OutingStatus.APPROVED if approve else OutingStatus.REFUSED
        changed = await Outing.filter(
            id=outing.id, status=OutingStatus.PENDING, first_approved_by_id=first
        ).update(
            decided_by_id=actor.person.id,
            decided_at=now,
            decision_note=note,
            status=OutingStatus.APPROVED if approve else OutingStatus.PENDING,
        )
        if not changed:
            raise Conflict("already decided", msgid="outing.already_decided")
        if not approve:
            await close_outing(outing.id, status=OutingStatus.REFUSED, at=now)
        await outing.refresh_from_db()
        await _audit(actor, outing, f"outing.{status.value}", now)
        await _edit_cards(
            outing,
            actor=actor,
            clock=clock,
            step="final",
            own=not approve,
            msgid="outing.card_approved_by" if approve else "outing.card_refused_by",
        )
        if approve:
            await _approved(outing, actor, clock)
        else:
            await _tell_requester(outing, "outing.refused", actor, clock, reason=note)
    return OutingDecision(outing, status.value)


async def _audit(actor: Actor, outing: Outing, action: str, now: datetime) -> None:
    await AuditLog.create(
        at=now, actor_id=actor.person.id, action=action, object_kind=SOURCE, object_id=outing.id
    )


async def _tell_requester(
    outing: Outing, msgid: str, actor: Actor, clock: Clock, **extra: Any
) -> None:
    requester = await Person.get(id=outing.person_id)
    zone = await _zone_of(outing)
    await notify(
        recipient=requester,
        msgid=msgid,
        params={
            **await _card(outing, requester, zone, clock.now()),
            "by": actor.person.name,
            **extra,
        },
        lane=Lane.APPROVAL,
        idempotency_key=f"outing-told:{outing.id}:{msgid}",
        source_kind=SOURCE,
        source_id=outing.id,
        clock=clock,
    )


def move_buttons(outing_id: int, *moves: str) -> list[list[dict[str, Any]]]:
    """Buttons for the person who is out: leaving, back, more time, help, I'm OK."""
    labels = {
        OutingMove.LEAVING: "outing.button.leaving",
        OutingMove.BACK: "outing.button.back",
        OutingMove.MORE_TIME: "outing.button.more_time",
        OutingMove.HELP: "outing.button.help",
        OutingMove.OK: "outing.button.ok",
    }
    return [
        [outbox.button(labels[move], callback_data=encode(OutingMove(outing_id, move)))]
        for move in moves
    ]


async def _approved(outing: Outing, actor: Actor, clock: Clock) -> None:
    requester = await Person.get(id=outing.person_id)
    zone = await _zone_of(outing)
    await notify(
        recipient=requester,
        msgid="outing.approved",
        params={**await _card(outing, requester, zone, clock.now()), "by": actor.person.name},
        buttons=move_buttons(outing.id, OutingMove.LEAVING, OutingMove.BACK),
        lane=Lane.APPROVAL,
        idempotency_key=f"outing-told:{outing.id}:approved",
        source_kind=SOURCE,
        source_id=outing.id,
        clock=clock,
    )
    names = _names(outing.companions)
    if names:
        for companion in await Person.filter(
            station_id=outing.station_id, name__in=names, active=True
        ):
            await notify(
                recipient=companion,
                msgid="outing.companion_told",
                params={**await _card(outing, companion, zone, clock.now())},
                lane=Lane.ROUTINE,
                buttons=[
                    [
                        outbox.button(
                            "outing.button.not_me", callback_data=encode(OutingNotMe(outing.id))
                        )
                    ]
                ],
                idempotency_key=f"outing-companion:{outing.id}:{companion.id}",
                source_kind=SOURCE,
                source_id=outing.id,
                clock=clock,
            )
    policy = (
        policy_of(await Station.get(id=outing.station_id)) if outing.station_id else OutingPolicy()
    )
    await _restart_ladder(outing, policy, now=clock.now())


async def _restart_ladder(outing: Outing, policy: OutingPolicy, *, now: datetime) -> None:
    level, due = first_step(policy, outing.expected_return_at)
    await Outing.filter(id=outing.id).update(
        escalation_level=level, next_escalation_at=due, updated_at=now
    )
    await schedule(WATCH, str(outing.id), due)


async def ask_question(*, actor: Actor, outing_id: int, question: str, clock: Clock) -> Outing:
    """A decider's question, relayed to the requester with a button to answer it."""
    outing = await check_decider(actor, outing_id, clock=clock)
    question = check_purpose(question)
    requester = await Person.get(id=outing.person_id)
    await AuditLog.create(
        at=clock.now(),
        actor_id=actor.person.id,
        action="outing.question",
        object_kind=SOURCE,
        object_id=outing.id,
    )
    await notify(
        recipient=requester,
        msgid="outing.question",
        params={"by": actor.person.name, "question": question, "destination": outing.destination},
        buttons=[
            [
                outbox.button(
                    "outing.button.reply",
                    callback_data=encode(OutingReply(outing.id, actor.person.id)),
                )
            ]
        ],
        lane=Lane.APPROVAL,
        idempotency_key=f"outing-question:{outing.id}:{actor.person.id}:{clock.now().isoformat()}",
        source_kind=SOURCE,
        source_id=outing.id,
        clock=clock,
    )
    return outing


async def check_reply(actor: Actor, outing_id: int, asker_id: int) -> tuple[Outing, Person]:
    """The outing and the decider who asked, when the actor is its requester."""
    outing = await _pending(outing_id)
    if outing.person_id != actor.person.id:
        raise NotAllowed("not the requester")
    if outing.status != OutingStatus.PENDING:
        raise Conflict("already decided", msgid="outing.already_decided")
    asker = await Person.get_or_none(id=row_id(asker_id), active=True)
    if asker is None:
        raise NotFound("no such person")
    return outing, asker


async def answer_question(
    *, actor: Actor, outing_id: int, asker_id: int, answer: str, clock: Clock
) -> None:
    """The requester's answer, relayed to the decider who asked, with the card's buttons."""
    outing, asker = await check_reply(actor, outing_id, asker_id)
    answer = check_purpose(answer)
    await notify(
        recipient=asker,
        msgid="outing.answer",
        params={"name": actor.person.name, "answer": answer, "destination": outing.destination},
        buttons=_verdict_buttons(outing.id),
        lane=Lane.APPROVAL,
        idempotency_key=f"outing-answer:{outing.id}:{asker.id}:{clock.now().isoformat()}",
        source_kind=SOURCE,
        source_id=outing.id,
        clock=clock,
    )


def _names(companions: str) -> list[str]:
    return [name.strip() for name in companions.split(",") if name.strip()]


async def not_me(*, actor: Actor, outing_id: int, clock: Clock) -> Outing:
    """A companion says they are not going: taken off the outing; the requester and the
    station's heads are told."""
    outing = await _pending(outing_id)
    names = _names(outing.companions)
    if outing.station_id != actor.person.station_id or actor.person.name not in names:
        raise NotAllowed("not a companion of this outing")
    if outing.open_marker is None:
        raise Conflict("outing over", msgid="outing.none_open")
    left = ", ".join(name for name in names if name != actor.person.name)
    now = clock.now()
    async with in_transaction():
        changed = await Outing.filter(id=outing.id, companions=outing.companions).update(
            companions=left, updated_at=now
        )
        if not changed:
            raise Conflict("changed meanwhile", msgid="outing.already_decided")
        await outing.refresh_from_db()
        await _audit(actor, outing, "outing.not_me", now)
        requester = await Person.get(id=outing.person_id)
        told = {requester.id: requester}
        if outing.station_id is not None:
            told.update({head.id: head for head in await heads_of(outing.station_id)})
        told.pop(actor.person.id, None)
        for person in told.values():
            await notify(
                recipient=person,
                msgid="outing.not_me_told",
                params={
                    "name": actor.person.name,
                    "requester": requester.name,
                    "destination": outing.destination,
                },
                lane=Lane.APPROVAL,
                idempotency_key=f"outing-not-me:{outing.id}:{actor.person.id}:{person.id}",
                source_kind=SOURCE,
                source_id=outing.id,
                clock=clock,
            )
    return outing


# ---------------------------------------------------------------- out and back


async def _own_open(actor: Actor, outing_id: int | None = None) -> Outing:
    query = Outing.filter(person_id=actor.person.id, open_marker=True)
    if outing_id is not None:
        query = query.filter(id=row_id(outing_id))
    outing = await query.first()
    if outing is None:
        if outing_id is not None and await Outing.exists(id=row_id(outing_id)):
            own = await Outing.exists(id=row_id(outing_id), person_id=actor.person.id)
            if not own:
                raise NotAllowed("not their outing")
        raise NotFound("no open outing", msgid="outing.none_open")
    return outing


async def leave_now(*, actor: Actor, outing_id: int, clock: Clock) -> Outing:
    """The approved outing starts: out since now; the dead-man timer starts where it applies."""
    outing = await _own_open(actor, outing_id)
    if outing.status == OutingStatus.PENDING:
        raise Conflict("not approved yet", msgid="outing.not_approved_yet")
    if outing.status == OutingStatus.OUT:
        return outing
    now = clock.now()
    async with in_transaction():
        changed = await Outing.filter(id=outing.id, status=OutingStatus.APPROVED).update(
            status=OutingStatus.OUT, leaves_at=now, updated_at=now
        )
        if changed:
            await _audit(actor, outing, "outing.left", now)
            await _start_dead_man(outing, now=now)
    await outing.refresh_from_db()
    return outing


async def _start_dead_man(outing: Outing, *, now: datetime) -> None:
    if outing.station_id is None or not (outing.is_night or outing.is_high_risk):
        return
    policy = policy_of(await Station.get(id=outing.station_id))
    if policy.dead_man_min > 0:
        await schedule(DEAD_MAN, str(outing.id), now + timedelta(minutes=policy.dead_man_min))


@dataclass(frozen=True)
class Returned:
    """An outing closed by the person's return, and how far from the station they said so."""

    outing: Outing
    distance_m: float | None


async def come_back(
    *,
    actor: Actor,
    clock: Clock,
    outing_id: int | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Returned:
    """Back: the outing closes, every queued step is called off and whoever was alerted is
    told."""
    outing = await _own_open(actor, outing_id)
    if outing.status == OutingStatus.PENDING:
        raise Conflict("not approved yet", msgid="outing.not_approved_yet")
    now = clock.now()
    distance = None
    station = await Station.get_or_none(id=outing.station_id) if outing.station_id else None
    recent = outing.last_seen_at is not None and now - outing.last_seen_at <= FRESH_POSITION
    if lat is None and lon is None and recent:
        # A live location still shared: where it last put the person.
        lat, lon = outing.last_lat, outing.last_lon
    if lat is not None and lon is not None and station is not None:
        distance = distance_m(station, lat, lon)
    async with in_transaction():
        values: dict[str, Any] = {}
        if lat is not None and lon is not None:
            values = {"last_lat": lat, "last_lon": lon, "last_seen_at": now}
        if not await close_outing(outing.id, status=OutingStatus.RETURNED, at=now, **values):
            raise Conflict("already back", msgid="outing.none_open")
        await _call_off(outing, clock)
        await AuditLog.create(
            at=now,
            actor_id=actor.person.id,
            action="outing.returned",
            object_kind=SOURCE,
            object_id=outing.id,
            data={"distance_m": round(distance) if distance else None},
        )
        await _tell_alerted(outing, actor.person, clock, msgid="outing.back_told")
    await outing.refresh_from_db()
    return Returned(outing, distance)


async def record_return_position(
    *,
    actor: Actor,
    outing_id: int,
    lat: float,
    lon: float,
    clock: Clock,
    sent_at: datetime | None = None,
    forwarded: bool = False,
) -> Returned:
    """Where the person said they were back, shared just after "I'm back": the returned
    outing keeps the position and its time, and the distance from the station is recorded.

    Only the person's own returned outing; a forwarded or old location is refused with the
    reason (it says nothing about where they are now)."""
    outing = await Outing.get_or_none(id=row_id(outing_id))
    if outing is None:
        raise NotFound("no such outing", msgid="outing.none_open")
    if outing.person_id != actor.person.id:
        raise NotAllowed("not their outing")
    if outing.status != OutingStatus.RETURNED or outing.returned_at is None:
        raise Conflict("not back", msgid="outing.none_open")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("coordinates out of range", msgid="error.bad_coordinates")
    if forwarded:
        raise InvalidInput("forwarded location", msgid="outing.back_position_forwarded")
    now = clock.now()
    at = ensure_utc(sent_at) if sent_at is not None else now
    if at - now > MAX_CLOCK_SKEW or now - at > MAX_POSITION_AGE:
        raise InvalidInput("stale location", msgid="outing.back_position_stale")
    at = min(at, now)
    station = await Station.get_or_none(id=outing.station_id) if outing.station_id else None
    distance = distance_m(station, lat, lon) if station is not None else None
    async with in_transaction():
        await Outing.filter(id=outing.id, status=OutingStatus.RETURNED).update(
            last_lat=lat, last_lon=lon, last_seen_at=at, updated_at=now
        )
        await AuditLog.create(
            at=now,
            actor_id=actor.person.id,
            action="outing.return_position",
            object_kind=SOURCE,
            object_id=outing.id,
            data={"distance_m": round(distance) if distance is not None else None},
        )
    await outing.refresh_from_db()
    return Returned(outing, distance)


async def return_distance(outing: Outing) -> float | None:
    """How far from the station the returned outing's recorded position is (None: none
    recorded since the return, or no station)."""
    if (
        outing.returned_at is None
        or outing.last_seen_at is None
        or outing.last_lat is None
        or outing.last_lon is None
        or outing.station_id is None
    ):
        return None
    if outing.last_seen_at < outing.returned_at - FRESH_POSITION:
        return None
    station = await Station.get_or_none(id=outing.station_id)
    return distance_m(station, outing.last_lat, outing.last_lon) if station else None


async def _call_off(outing: Outing, clock: Clock) -> None:
    for kind in (WATCH, DEAD_MAN, DEAD_MAN_MISS):
        await cancel_deadline(kind, str(outing.id), clock=clock)
    await outbox.cancel(
        SOURCE, outing.id, clock=clock, reason="returned", key_prefix=f"outing-esc:{outing.id}:"
    )


async def _tell_alerted(
    outing: Outing, person: Person, clock: Clock, *, msgid: str, **extra: Any
) -> None:
    """Whoever an escalation step reached hears the news (the level says who was)."""
    reached = outing.escalation_level - 1  # the last step that fired
    if reached < HEADS_ALERTED:
        return
    zone = await _zone_of(outing)
    for recipient in await _escalation_people(outing, reached, now=clock.now()):
        await notify(
            recipient=recipient,
            msgid=msgid,
            params={
                "name": person.name,
                "destination": outing.destination,
                "at": _when(clock.now(), recipient, zone),
                **extra,
            },
            lane=Lane.ESCALATION,
            idempotency_key=f"outing-news:{outing.id}:{msgid}:{outing.late_reports}:"
            f"{recipient.id}",
            source_kind=SOURCE,
            source_id=outing.id,
            clock=clock,
        )


async def report_late(
    *,
    actor: Actor,
    returns_at: datetime,
    reason: str,
    clock: Clock,
    msgid: str = "outing.late_told",
) -> Outing:
    """A new return time with a reason: the head (and whoever was alerted) is told, the
    escalation starts again from the new time."""
    outing = await _own_open(actor)
    if outing.status == OutingStatus.PENDING:
        raise Conflict("not approved yet", msgid="outing.not_approved_yet")
    station = await Station.get(id=outing.station_id) if outing.station_id else None
    policy = policy_of(station) if station is not None else OutingPolicy()
    zone = station_zone(station) if station is not None else ZoneInfo("UTC")
    now = clock.now()
    reason = check_purpose(reason)
    check_return(
        policy,
        leaves_at=outing.leaves_at or outing.decided_at or now,
        returns_at=returns_at,
        now=now,
        zone=zone,
    )
    async with in_transaction():
        alerted = await Outing.get(id=outing.id)
        changed = await Outing.filter(id=outing.id, open_marker=True).update(
            expected_return_at=returns_at, late_reports=outing.late_reports + 1, updated_at=now
        )
        if not changed:
            raise NotFound("no open outing", msgid="outing.none_open")
        await outing.refresh_from_db()
        await AuditLog.create(
            at=now,
            actor_id=actor.person.id,
            action="outing.late",
            object_kind=SOURCE,
            object_id=outing.id,
        )
        people = {p.id: p for p in await _escalation_people(outing, HEADS_ALERTED, now=now)}
        if alerted.escalation_level - 1 >= SAFETY_ALERTED:
            people.update(
                {p.id: p for p in await _escalation_people(outing, SAFETY_ALERTED, now=now)}
            )
        for recipient in people.values():
            await notify(
                recipient=recipient,
                msgid=msgid,
                params={
                    "name": actor.person.name,
                    "destination": outing.destination,
                    "returns": _when(returns_at, recipient, zone),
                    "reason": reason,
                },
                lane=Lane.ESCALATION,
                idempotency_key=f"outing-late:{outing.id}:{outing.late_reports}:{recipient.id}",
                source_kind=SOURCE,
                source_id=outing.id,
                clock=clock,
            )
        await outbox.cancel(
            SOURCE, outing.id, clock=clock, reason="late", key_prefix=f"outing-esc:{outing.id}:"
        )
        await cancel_deadline(DEAD_MAN_MISS, str(outing.id), clock=clock)
        await _restart_ladder(outing, policy, now=now)
    return outing


async def more_time(*, actor: Actor, outing_id: int, clock: Clock) -> Outing:
    """ "I'm safe, need more time": the return moves half an hour past now."""
    await _own_open(actor, outing_id)
    return await report_late(
        actor=actor,
        returns_at=clock.now() + MORE_TIME,
        reason="—",
        clock=clock,
        msgid="outing.more_time_told",
    )


async def need_help(*, actor: Actor, outing_id: int, clock: Clock) -> Outing:
    """ "I need help": everyone on the ladder at once, and an incident."""
    outing = await _own_open(actor, outing_id)
    async with in_transaction():
        await cancel_deadline(WATCH, str(outing.id), clock=clock)
        await _open_incident(outing, IncidentKind.SOS, clock=clock, summary="help")
        await Outing.filter(id=outing.id).update(escalation_level=DONE, next_escalation_at=None)
        await _alert(
            outing,
            SAFETY_ALERTED,
            clock,
            msgid="outing.help_alert",
            lane=Lane.EMERGENCY,
            key="help",
        )
    return outing


async def i_am_ok(*, actor: Actor, outing_id: int, clock: Clock) -> None:
    """A tap on "I'm OK": the dead-man timer starts again."""
    outing = await _own_open(actor, outing_id)
    now = clock.now()
    async with in_transaction():
        await cancel_deadline(DEAD_MAN_MISS, str(outing.id), clock=clock)
        await Outing.filter(id=outing.id).update(last_seen_at=now)
        await _start_dead_man(outing, now=now)


async def update_position(person_id: int, lat: float, lon: float, *, at: datetime) -> bool:
    """A live location shared while out: the last known position and its time."""
    return bool(
        await Outing.filter(person_id=person_id, open_marker=True, status=OutingStatus.OUT).update(
            last_lat=lat, last_lon=lon, last_seen_at=at
        )
    )


# ---------------------------------------------------------------- escalation


async def _alert(
    outing: Outing, level: int, clock: Clock, *, msgid: str, lane: Lane, key: str
) -> None:
    person = await Person.get(id=outing.person_id)
    zone = await _zone_of(outing)
    for recipient in await _escalation_people(outing, level, now=clock.now()):
        await notify(
            recipient=recipient,
            msgid=msgid,
            params={
                "name": person.name,
                "destination": outing.destination,
                "returns": _when(outing.expected_return_at, recipient, zone),
                "phone": person.phone or "—",
                "map": map_link(outing),
            },
            lane=lane,
            idempotency_key=f"outing-esc:{outing.id}:{key}:{recipient.id}",
            source_kind=SOURCE,
            source_id=outing.id,
            clock=clock,
        )


async def _open_incident(
    outing: Outing, kind: IncidentKind, *, clock: Clock, summary: str
) -> Incident:
    """The incident of an outing gone wrong, through the SOS service: its responders are
    alerted at once and its tiers escalate (to the embassy at the last) until one takes it.
    "I need help" is an SOS; an outing overdue past every step is an overdue incident (one per
    outing)."""
    person = await Person.get(id=outing.person_id)
    raised = await open_incident(
        person,
        kind,
        clock=clock,
        summary=f"{summary}: {outing.destination}"[:500],
        outing_id=outing.id,
        source="outing",
        idempotency_key=None if kind == IncidentKind.SOS else f"overdue:{outing.id}",
    )
    return raised.incident


def map_link(outing: Outing) -> str:
    """A plain link to the last known position (or the destination), or "—"."""
    lat = outing.last_lat if outing.last_lat is not None else outing.dest_lat
    lon = outing.last_lon if outing.last_lon is not None else outing.dest_lon
    if lat is None or lon is None:
        return "—"
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=16/{lat:.5f}/{lon:.5f}"
    )


async def _act(outing: Outing, level: int, clock: Clock) -> None:
    """What the step at `level` does (each once: its messages have idempotency keys)."""
    person = await Person.get(id=outing.person_id)
    zone = await _zone_of(outing)
    params = {
        "destination": outing.destination,
        "returns": _when(outing.expected_return_at, person, zone),
    }
    if level == REMINDER:
        await notify(
            recipient=person,
            msgid="outing.reminder",
            params=params,
            buttons=move_buttons(outing.id, OutingMove.BACK, OutingMove.MORE_TIME),
            lane=Lane.ESCALATION,
            source_kind=SOURCE,
            source_id=outing.id,
            idempotency_key=f"outing-esc:{outing.id}:{outing.late_reports}:reminder",
            clock=clock,
        )
    elif level == ARE_YOU_BACK:
        await notify(
            recipient=person,
            msgid="outing.are_you_back",
            params=params,
            buttons=move_buttons(
                outing.id, OutingMove.BACK, OutingMove.MORE_TIME, OutingMove.HELP
            ),
            lane=Lane.ESCALATION,
            source_kind=SOURCE,
            source_id=outing.id,
            idempotency_key=f"outing-esc:{outing.id}:{outing.late_reports}:ask",
            clock=clock,
        )
    elif level == HEADS_ALERTED:
        await _alert(
            outing,
            HEADS_ALERTED,
            clock,
            msgid="outing.overdue_heads",
            lane=Lane.ESCALATION,
            key=f"{outing.late_reports}:heads",
        )
    elif level == SAFETY_ALERTED:
        await _alert(
            outing,
            SAFETY_ALERTED,
            clock,
            msgid="outing.overdue_safety",
            lane=Lane.ESCALATION,
            key=f"{outing.late_reports}:safety",
        )
    elif level == INCIDENT:
        await _open_incident(outing, IncidentKind.OVERDUE, clock=clock, summary="overdue")
        await _alert(
            outing,
            SAFETY_ALERTED,
            clock,
            msgid="outing.incident_opened",
            lane=Lane.EMERGENCY,
            key=f"{outing.late_reports}:incident",
        )


async def handle_watch(deadline: Deadline, clock: Clock) -> datetime | None:
    """The deadline engine's step of an outing's ladder: do what is due, return the next."""
    outing = await Outing.get_or_none(id=int(deadline.key))
    if outing is None or outing.open_marker is None or outing.next_escalation_at is None:
        return None
    if outing.status not in (OutingStatus.APPROVED, OutingStatus.OUT):
        return None
    now, level, due = clock.now(), outing.escalation_level, outing.next_escalation_at
    if now < due:
        return due
    if level >= DONE:
        return None
    policy = (
        policy_of(await Station.get(id=outing.station_id)) if outing.station_id else OutingPolicy()
    )
    gap = _gap(policy, level)
    following = due + gap if gap is not None else None
    if level == REMINDER and now >= outing.expected_return_at:
        following = outing.expected_return_at  # too late for a reminder: ask at once
    else:
        await _act(outing, level, clock)
    # Conditional on the level read: of two engines acting at once, one moves the ladder (the
    # deadline's own claim already makes that one engine).
    await Outing.filter(id=outing.id, escalation_level=level).update(
        escalation_level=level + 1, next_escalation_at=following
    )
    logger.info("outing %s escalation step %d done", outing.id, level)
    return following


async def handle_dead_man(deadline: Deadline, clock: Clock) -> datetime | None:
    """Time for "I'm OK?": ask, and give the person a few minutes to tap."""
    outing = await Outing.get_or_none(id=int(deadline.key))
    if outing is None or outing.open_marker is None or outing.status != OutingStatus.OUT:
        return None
    policy = (
        policy_of(await Station.get(id=outing.station_id)) if outing.station_id else OutingPolicy()
    )
    person = await Person.get(id=outing.person_id)
    await notify(
        recipient=person,
        msgid="outing.dead_man_ask",
        params={"minutes": policy.dead_man_reply_min},
        buttons=move_buttons(outing.id, OutingMove.OK, OutingMove.HELP),
        lane=Lane.ESCALATION,
        source_kind=SOURCE,
        source_id=outing.id,
        idempotency_key=f"outing-esc:{outing.id}:deadman:{deadline.id}:"
        f"{deadline.due_at.isoformat()}",
        clock=clock,
    )
    await schedule(
        DEAD_MAN_MISS, str(outing.id), clock.now() + timedelta(minutes=policy.dead_man_reply_min)
    )
    return None


async def handle_dead_man_miss(deadline: Deadline, clock: Clock) -> datetime | None:
    """No "I'm OK" in time: the ladder jumps to alerting the head and the person on duty."""
    outing = await Outing.get_or_none(id=int(deadline.key))
    if outing is None or outing.open_marker is None or outing.status != OutingStatus.OUT:
        return None
    now = clock.now()
    if outing.escalation_level <= HEADS_ALERTED:
        await Outing.filter(id=outing.id).update(
            escalation_level=HEADS_ALERTED, next_escalation_at=now
        )
        await schedule(WATCH, str(outing.id), now)
    return None


# ---------------------------------------------------------------- who is out


@dataclass(frozen=True)
class OutLine:
    """One line of /outings."""

    outing: Outing
    person: Person
    overdue: bool
    zone: ZoneInfo  # the station's, for the times
    since: datetime  # left, or approved when not gone yet


async def who_is_out(*, actor: Actor, clock: Clock) -> list[OutLine]:
    """Open approved outings the actor watches (a head: the station; safety and HQ: all),
    overdue first, then by the promised return."""
    query = _watched(
        actor,
        Outing.filter(open_marker=True, status__in=[OutingStatus.APPROVED, OutingStatus.OUT]),
    )
    now = clock.now()
    outings = await query.order_by("expected_return_at").limit(100)
    people = {p.id: p for p in await Person.filter(id__in=[o.person_id for o in outings])}
    stations = {s.id: s for s in await Station.filter(id__in={o.station_id for o in outings})}
    lines = [
        OutLine(
            o,
            people[o.person_id],
            o.expected_return_at < now,
            station_zone(stations[o.station_id]) if o.station_id in stations else ZoneInfo("UTC"),
            o.leaves_at or o.decided_at or o.expected_return_at,
        )
        for o in outings
    ]
    return sorted(lines, key=lambda line: (not line.overdue, line.outing.expected_return_at))


def _watched(actor: Actor, query: QuerySet[Outing]) -> QuerySet[Outing]:
    """The outings the actor watches: a head the station's; safety and HQ all."""
    if not actor.has(Role.SAFETY, Role.HQ, Role.ADMIN):
        if not actor.has(Role.HEAD) or actor.person.station_id is None:
            raise NotAllowed("not a head, safety officer or HQ")
        query = query.filter(station_id=actor.person.station_id)
    return query


# /outings also lists who came back this recently, with where they said so.
RECENT_RETURNS = timedelta(hours=12)


@dataclass(frozen=True)
class BackLine:
    """One return in /outings: who, from where, when, and how far from the station."""

    outing: Outing
    person: Person
    zone: ZoneInfo
    distance_m: float | None


async def back_lately(*, actor: Actor, clock: Clock) -> list[BackLine]:
    """Outings the actor watches that closed by a return in the last hours, latest first."""
    since = clock.now() - RECENT_RETURNS
    outings = (
        await _watched(actor, Outing.filter(status=OutingStatus.RETURNED, returned_at__gte=since))
        .order_by("-returned_at")
        .limit(50)
    )
    people = {p.id: p for p in await Person.filter(id__in=[o.person_id for o in outings])}
    stations = {s.id: s for s in await Station.filter(id__in={o.station_id for o in outings})}
    return [
        BackLine(
            o,
            people[o.person_id],
            station_zone(stations[o.station_id]) if o.station_id in stations else ZoneInfo("UTC"),
            await return_distance(o),
        )
        for o in outings
    ]
