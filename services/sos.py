"""SOS and incidents: the alarm at once to the responders, escalation on the deadline engine,
one taker, the embassy told at most once, and a timeline of everything.

Tier 1 (at once, emergency lane): the station's heads, the person on duty, every safety officer,
HQ (people with role hq, and hq_duty contacts by e-mail and SMS). Tier 2 (no taker after
`tier2_after`): HQ again on the escalation lane and the HQ security mailbox by e-mail. Tier 3
(`tier3_after` later, at once for a detention, or when a safety officer asks): the embassy or
consulate by e-mail and SMS with a brief in English and Chinese, and a task to HQ to phone the
consular hotline. Whoever takes the incident first stops the tiers still to come.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from geopy.distance import geodesic
from tortoise.transactions import in_transaction

from db.constraints import create_unless_taken
from db.enums import Channel, ContactKind, IncidentKind, IncidentStatus, Lane, Role
from db.incidents import close_sos, open_sos
from db.models import (
    CheckIn,
    Contact,
    Deadline,
    Incident,
    IncidentEvent,
    Person,
    PersonRole,
    Station,
)
from i18n import format_distance, translate
from services import deadlines
from services.attendance import heads_of
from services.callbacks import (
    IncidentClose,
    IncidentEmbassy,
    IncidentNature,
    IncidentTake,
    encode,
)
from services.clock import Clock
from services.duty import on_duty
from services.emergency import is_sos_text
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.localtime import local_date, station_zone
from services.notify import DeliveryResult, button, edit, messages_to_edit, notify
from services.notify import cancel as cancel_messages
from services.people import Actor
from services.validation import free_text, row_id

logger = logging.getLogger(__name__)

SOURCE = "incident"
TIER_DEADLINE = "incident_tier"
CARD = "sos.card"
NATURES = IncidentNature.NATURES
CONSULAR_HOTLINE = "+86-10-12308"


@dataclass(frozen=True)
class SosPolicy:
    """Timings and addresses of the tiers (from the settings, set by the wiring)."""

    tier2_after: timedelta = timedelta(minutes=3)
    tier3_after: timedelta = timedelta(minutes=10)
    cancel_window: timedelta = timedelta(minutes=2)
    hq_security_email: str | None = None
    # Channels of the embassy message (e-mail, SMS or both).
    embassy_channels: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS)
    company_contact: str = ""
    consular_hotline: str = CONSULAR_HOTLINE


_policy = SosPolicy()


def configure(policy: SosPolicy) -> None:
    """Use `policy` for every incident from now on (the wiring calls this at start-up)."""
    global _policy
    _policy = policy


def policy() -> SosPolicy:
    """The policy in force."""
    return _policy


@dataclass(frozen=True)
class Raised:
    """An incident and whether this call opened it (False: it was already open)."""

    incident: Incident
    new: bool


def _fk(row: Incident, name: str) -> Any:
    """A foreign key's id column (Tortoise adds them at run time)."""
    return getattr(row, name)


async def _station_of(incident: Incident) -> Station | None:
    station_id = _fk(incident, "station_id")
    return await Station.get_or_none(id=station_id) if station_id else None


def _reporter_id(incident: Incident) -> int | None:
    value: int | None = getattr(incident, "reported_by_id")  # noqa: B009
    return value


async def event(
    incident_id: int,
    kind: str,
    *,
    at: datetime,
    actor_id: int | None = None,
    text: str = "",
    **data: Any,
) -> IncidentEvent:
    """Add one line to an incident's timeline (control characters dropped from its text:
    PostgreSQL refuses NUL)."""
    return await IncidentEvent.create(
        incident_id=incident_id,
        kind=kind,
        at=at,
        actor_id=actor_id,
        text=free_text(text),
        data=data,
    )


async def _position(person: Person) -> tuple[float, float, datetime] | None:
    last = await CheckIn.filter(person_id=person.id).order_by("-at").first()
    if last is None:
        return None
    if last.last_lat is not None and last.last_lon is not None and last.last_seen_at:
        return last.last_lat, last.last_lon, last.last_seen_at
    return last.lat, last.lon, last.at


async def responders(person: Person, station: Station | None, clock: Clock) -> list[Person]:
    """Tier 1 on Telegram: heads, the person on duty, safety officers, HQ (not the person)."""
    found: list[Person] = []
    if station is not None:
        found.extend(await heads_of(station.id))
        duty = await on_duty(station.id, local_date(clock.now(), station_zone(station)))
        if duty is not None and duty.active:
            found.append(duty)
    grants = (
        await PersonRole.filter(
            role__in=[Role.SAFETY, Role.HQ],
            person__active=True,
            person__registration_step__isnull=True,
        )
        .prefetch_related("person")
        .order_by("role", "id")
    )
    found.extend(grant.person for grant in grants)
    seen: set[int] = {person.id}
    unique = []
    for candidate in found:
        if candidate.id not in seen:
            seen.add(candidate.id)
            unique.append(candidate)
    return unique


async def _hq_people() -> list[Person]:
    grants = (
        await PersonRole.filter(
            role=Role.HQ, person__active=True, person__registration_step__isnull=True
        )
        .prefetch_related("person")
        .order_by("id")
    )
    return [grant.person for grant in grants]


def _nearest(
    contacts: list[Contact], kinds: tuple[ContactKind, ...], origin: tuple[float, float] | None
) -> tuple[Contact, float | None] | None:
    chosen = [c for c in contacts if ContactKind(c.kind) in kinds]
    if not chosen:
        return None

    def distance(contact: Contact) -> float | None:
        if origin is None or contact.lat is None or contact.lon is None:
            return None
        return float(geodesic(origin, (contact.lat, contact.lon)).meters)

    ranked = sorted(
        ((c, distance(c)) for c in chosen),
        key=lambda pair: (pair[1] is None, pair[1] or 0.0, kinds.index(ContactKind(pair[0].kind))),
    )
    return ranked[0]


def _contact_line(language: str, found: tuple[Contact, float | None] | None) -> str:
    if found is None:
        return translate(language, "sos.none_on_file")
    contact, metres = found
    line = contact.name + (f" {contact.phone}" if contact.phone else "")
    if metres is not None:
        line += f" ({format_distance(language, metres)})"
    return line


def _nature_label(language: str, nature: str | None) -> str:
    return translate(language, f"sos.nature.{nature}" if nature else "sos.nature.unknown")


async def _card_params(
    incident: Incident, person: Person, language: str, clock: Clock
) -> dict[str, Any]:
    station = await _station_of(incident)
    origin = _origin(incident)
    if origin is not None:
        seen_at = await _position_seen_at(incident)
        minutes = max(0, int((clock.now() - seen_at).total_seconds() // 60))
        distance = (
            format_distance(language, geodesic(origin, (station.lat, station.lon)).meters)
            if station is not None
            else "?"
        )
        where = translate(
            language,
            "sos.where",
            lat=f"{origin[0]:.5f}",
            lon=f"{origin[1]:.5f}",
            minutes=minutes,
            distance=distance,
        )
    else:
        where = translate(language, "sos.where_unknown")
    contacts = await Contact.filter(country=incident.country) if incident.country else []
    measure = origin or ((station.lat, station.lon) if station is not None else None)
    return {
        "name": person.name,
        "phone": person.phone or "-",
        "where": where,
        "nature": (
            translate(language, "sos.nature.overdue", summary=incident.summary)
            if incident.kind == IncidentKind.OVERDUE
            else _nature_label(language, incident.nature)
        ),
        "embassy": _contact_line(
            language, _nearest(contacts, (ContactKind.EMBASSY, ContactKind.CONSULATE), measure)
        ),
        "hospital": _contact_line(language, _nearest(contacts, (ContactKind.HOSPITAL,), measure)),
    }


def _origin(incident: Incident) -> tuple[float, float] | None:
    if incident.lat is None or incident.lon is None:
        return None
    return incident.lat, incident.lon


async def _position_seen_at(incident: Incident) -> datetime:
    last = (
        await IncidentEvent.filter(incident_id=incident.id, kind="position")
        .order_by("-at", "-id")
        .first()
    )
    if last is None:
        return incident.opened_at
    seen = last.data.get("seen_at")
    return datetime.fromisoformat(seen) if isinstance(seen, str) else last.at


def _map_url(incident: Incident) -> str | None:
    if incident.lat is None or incident.lon is None:
        return None
    return (
        f"https://www.openstreetmap.org/?mlat={incident.lat:.5f}&mlon={incident.lon:.5f}"
        f"#map=16/{incident.lat:.5f}/{incident.lon:.5f}"
    )


async def _card_buttons(incident: Incident, responder: Person) -> list[list[dict[str, Any]]]:
    rows = [[button("sos.button.take", callback_data=encode(IncidentTake(incident.id)))]]
    url = _map_url(incident)
    if url is not None:
        rows.append([button("sos.button.map", url=url)])
    if await PersonRole.filter(person_id=responder.id, role__in=[Role.SAFETY, Role.HQ]).exists():
        rows.append(
            [button("sos.button.embassy", callback_data=encode(IncidentEmbassy(incident.id)))]
        )
    return rows


async def _tier1(
    incident: Incident, person: Person, station: Station | None, clock: Clock
) -> None:
    now = clock.now()
    for responder in await responders(person, station, clock):
        await notify(
            recipient=responder,
            msgid=CARD,
            params=await _card_params(incident, person, responder.language, clock),
            buttons=await _card_buttons(incident, responder),
            lane=Lane.EMERGENCY,
            idempotency_key=f"incident-t1:{incident.id}:{responder.id}",
            source_kind=SOURCE,
            source_id=incident.id,
            clock=clock,
        )
        await event(
            incident.id,
            "alerted",
            at=now,
            actor_id=responder.id,
            tier=1,
            channel=Channel.TELEGRAM.value,
        )
    for contact in await Contact.filter(kind=ContactKind.HQ_DUTY).order_by("id"):
        for channel, address in ((Channel.EMAIL, contact.email), (Channel.SMS, contact.phone)):
            if not address:
                continue
            await notify(
                recipient=address,
                channel=channel,
                language="en",
                msgid="sos.hq_duty_alert",
                params=await _card_params(incident, person, "en", clock),
                lane=Lane.EMERGENCY,
                idempotency_key=f"incident-t1:{incident.id}:c{contact.id}:{channel.value}",
                source_kind=SOURCE,
                source_id=incident.id,
                clock=clock,
            )
            await event(
                incident.id, "alerted", at=now, tier=1, channel=channel.value, contact=contact.name
            )


async def open_incident(
    person: Person,
    kind: IncidentKind,
    *,
    clock: Clock,
    nature: str | None = None,
    summary: str = "",
    opened_by: Person | None = None,
    idempotency_key: str | None = None,
    outing_id: int | None = None,
    source: str = "chat",
) -> Raised:
    """Open an incident for `person` and alert tier 1 at once; an SOS already open is returned.

    Any part of Outpost that finds someone in danger calls this (an SOS from the chat or by SMS,
    an overdue outing nobody answered, a safety officer opening one for someone). The position
    is the person's last known one. Kidnapping and detention go straight to tier 3.
    """
    if nature is not None and nature not in NATURES:
        raise InvalidInput("unknown nature")
    now = clock.now()
    station = await Station.get_or_none(id=person.station_id) if person.station_id else None
    position = await _position(person)
    values: dict[str, Any] = {
        "station_id": station.id if station is not None else None,
        "country": station.country if station is not None else None,
        "lat": position[0] if position else None,
        "lon": position[1] if position else None,
        "nature": nature,
        "summary": summary,
        "idempotency_key": idempotency_key,
        "outing_id": outing_id,
        "escalation_level": 1,
    }
    async with in_transaction():
        if kind == IncidentKind.SOS:
            incident, new = await open_sos(person_id=person.id, opened_at=now, **values)
        else:
            if idempotency_key is not None:
                again = await Incident.get_or_none(idempotency_key=idempotency_key)
                if again is not None:
                    return Raised(again, False)
            created = await create_unless_taken(
                Incident,
                kind=kind,
                status=IncidentStatus.OPEN,
                reported_by_id=person.id,
                opened_at=now,
                **values,
            )
            if created is None:
                again = await Incident.get(idempotency_key=idempotency_key)
                return Raised(again, False)
            incident, new = created, True
        if not new:
            return Raised(incident, False)
        await event(
            incident.id,
            "opened",
            at=now,
            actor_id=opened_by.id if opened_by else person.id,
            incident_kind=kind.value,
            source=source,
        )
        if position is not None:
            await event(
                incident.id,
                "position",
                at=now,
                lat=position[0],
                lon=position[1],
                seen_at=position[2].isoformat(),
            )
        await _tier1(incident, person, station, clock)
        if kind == IncidentKind.KIDNAPPING or nature == "detained":
            await _tier3(incident, clock, reason="kind")
        else:
            await deadlines.schedule(
                TIER_DEADLINE,
                str(incident.id),
                now + _policy.tier2_after,
                {"incident": incident.id},
            )
    logger.warning("incident %s opened (%s, %s)", incident.id, kind.value, source)
    return Raised(incident, True)


async def raise_sos(*, actor: Actor, clock: Clock, source: str = "chat") -> Raised:
    """The actor's SOS: a new incident alerted at once, or the one already open."""
    return await open_incident(actor.person, IncidentKind.SOS, clock=clock, source=source)


async def _load(incident_id: int) -> Incident:
    incident = await Incident.get_or_none(id=row_id(incident_id))
    if incident is None:
        raise NotFound("no such incident")
    return incident


def _open(incident: Incident) -> None:
    if IncidentStatus(incident.status) == IncidentStatus.CLOSED:
        raise Conflict("closed", msgid="sos.closed")


async def is_responder(actor: Actor, incident: Incident) -> bool:
    """True when the actor was alerted to this incident, or is safety or HQ."""
    if actor.has(Role.SAFETY) or actor.has(Role.HQ):
        return True
    return await IncidentEvent.filter(
        incident_id=incident.id, kind="alerted", actor_id=actor.person.id
    ).exists()


async def _stop_tiers(incident: Incident, clock: Clock) -> None:
    await deadlines.cancel(TIER_DEADLINE, str(incident.id), clock=clock)
    for prefix in ("incident-t2:", "incident-t3:"):
        await cancel_messages(
            SOURCE, incident.id, clock=clock, reason="taken", key_prefix=f"{prefix}{incident.id}:"
        )


async def take(*, actor: Actor, incident_id: int, clock: Clock) -> Incident:
    """The actor handles the incident: the first press wins, the others' cards say who."""
    incident = await _load(incident_id)
    if not await is_responder(actor, incident) or actor.person.id == _reporter_id(incident):
        raise NotAllowed("not a responder")
    _open(incident)
    now = clock.now()
    async with in_transaction():
        changed = await Incident.filter(
            id=incident.id, acknowledged_at__isnull=True, status__not=IncidentStatus.CLOSED
        ).update(
            acknowledged_at=now,
            acknowledged_by_id=actor.person.id,
            status=IncidentStatus.ACKNOWLEDGED,
            next_escalation_at=None,
            updated_at=now,
        )
        if not changed:
            await incident.refresh_from_db()
            taker = (
                await Person.get_or_none(id=_fk(incident, "acknowledged_by_id"))
                if _fk(incident, "acknowledged_by_id")
                else None
            )
            raise Conflict("taken", msgid="sos.already_taken", name=taker.name if taker else "?")
        await event(incident.id, "acknowledged", at=now, actor_id=actor.person.id)
        await _stop_tiers(incident, clock)
        for card in await messages_to_edit(SOURCE, incident.id, msgid=CARD):
            await edit(
                original=card,
                msgid="sos.card_taken",
                params={**card.params, "by": actor.person.name},
                idempotency_key=f"incident-taken-card:{card.id}",
                clock=clock,
                lane=Lane.EMERGENCY,
            )
        reporter = (
            await Person.get_or_none(id=_reporter_id(incident)) if _reporter_id(incident) else None
        )
        if reporter is not None:
            await notify(
                recipient=reporter,
                msgid="sos.coming",
                params={"name": actor.person.name, "phone": actor.person.phone or "-"},
                lane=Lane.EMERGENCY,
                idempotency_key=f"incident-coming:{incident.id}",
                source_kind=SOURCE,
                source_id=incident.id,
                clock=clock,
            )
    await incident.refresh_from_db()
    return incident


async def set_nature(*, actor: Actor, incident_id: int, nature: str, clock: Clock) -> Incident:
    """The person says what happened; the responders are told, a detention goes to tier 3."""
    if nature not in NATURES:
        raise InvalidInput("unknown nature")
    incident = await _load(incident_id)
    if _reporter_id(incident) != actor.person.id:
        raise NotAllowed("not the person's incident")
    _open(incident)
    now = clock.now()
    async with in_transaction():
        await Incident.filter(id=incident.id).update(nature=nature, updated_at=now)
        await event(incident.id, "nature", at=now, actor_id=actor.person.id, nature=nature)
        for card in await messages_to_edit(SOURCE, incident.id, msgid=CARD):
            language = card.language or "en"
            await notify(
                recipient=card.address,
                channel=Channel.TELEGRAM,
                language=language,
                msgid="sos.nature_told",
                params={"name": actor.person.name, "nature": _nature_label(language, nature)},
                lane=Lane.EMERGENCY,
                idempotency_key=f"incident-nature:{incident.id}:{card.id}:{nature}",
                source_kind=SOURCE,
                source_id=incident.id,
                clock=clock,
            )
        await incident.refresh_from_db()
        if nature == "detained":
            await _tier3(incident, clock, reason="detained")
    return incident


async def cancel_sos(*, actor: Actor, incident_id: int, clock: Clock) -> Incident:
    """A false alarm, called off by the person within the cancel window; everyone alerted
    is told."""
    incident = await _load(incident_id)
    if _reporter_id(incident) != actor.person.id:
        raise NotAllowed("not the person's incident")
    _open(incident)
    now = clock.now()
    if now - incident.opened_at > _policy.cancel_window:
        raise InvalidInput("too late", msgid="sos.cancel_too_late")
    async with in_transaction():
        if not await close_sos(
            incident.id, at=now, closed_by_id=actor.person.id, note="false alarm"
        ):
            raise Conflict("closed", msgid="sos.closed")
        await event(incident.id, "cancelled", at=now, actor_id=actor.person.id)
        await _stop_tiers(incident, clock)
        for card in await messages_to_edit(SOURCE, incident.id, msgid=CARD):
            await edit(
                original=card,
                msgid="sos.card_cancelled",
                params=card.params,
                idempotency_key=f"incident-cancel-card:{card.id}",
                clock=clock,
                lane=Lane.EMERGENCY,
            )
            await notify(
                recipient=card.address,
                channel=Channel.TELEGRAM,
                language=card.language,
                msgid="sos.false_alarm",
                params={"name": actor.person.name},
                lane=Lane.EMERGENCY,
                idempotency_key=f"incident-false:{incident.id}:{card.id}",
                source_kind=SOURCE,
                source_id=incident.id,
                clock=clock,
            )
    await incident.refresh_from_db()
    return incident


async def _tier2(incident: Incident, clock: Clock) -> None:
    now = clock.now()
    person = (
        await Person.get_or_none(id=_reporter_id(incident)) if _reporter_id(incident) else None
    )
    name = person.name if person else "?"
    for hq in await _hq_people():
        await notify(
            recipient=hq,
            msgid="sos.escalated",
            params={"name": name, "id": incident.id},
            buttons=[[button("sos.button.take", callback_data=encode(IncidentTake(incident.id)))]],
            lane=Lane.ESCALATION,
            idempotency_key=f"incident-t2:{incident.id}:{hq.id}",
            source_kind=SOURCE,
            source_id=incident.id,
            clock=clock,
        )
        await event(
            incident.id, "alerted", at=now, actor_id=hq.id, tier=2, channel=Channel.TELEGRAM.value
        )
    if _policy.hq_security_email:
        await notify(
            recipient=_policy.hq_security_email,
            channel=Channel.EMAIL,
            language="en",
            msgid="sos.escalated_email",
            params=await _brief_params(incident),
            lane=Lane.ESCALATION,
            idempotency_key=f"incident-t2:{incident.id}:mailbox",
            source_kind=SOURCE,
            source_id=incident.id,
            clock=clock,
        )
        await event(
            incident.id,
            "alerted",
            at=now,
            tier=2,
            channel=Channel.EMAIL.value,
            contact="hq_security",
        )
    await Incident.filter(id=incident.id).update(
        escalation_level=2, status=IncidentStatus.ESCALATED, updated_at=now
    )


async def _brief_params(incident: Incident) -> dict[str, Any]:
    person = (
        await Person.get_or_none(id=_reporter_id(incident)) if _reporter_id(incident) else None
    )
    where = (
        f"{incident.lat:.5f}, {incident.lon:.5f}"
        if incident.lat is not None and incident.lon is not None
        else "?"
    )
    return {
        "id": incident.id,
        "name": person.name if person else "?",
        "phone": (person.phone if person else None) or "-",
        "where": where,
        "when": incident.opened_at.strftime("%Y-%m-%d %H:%M UTC"),
        "what_en": translate("en", f"sos.nature.{incident.nature or 'unknown'}"),
        "what_zh": translate("zh-Hans", f"sos.nature.{incident.nature or 'unknown'}"),
        "company": _policy.company_contact or "-",
        "hotline": _policy.consular_hotline,
    }


async def _tier3(
    incident: Incident, clock: Clock, *, reason: str, by: Actor | None = None
) -> bool:
    """The embassy told (once per incident) and HQ asked to phone the hotline; False when the
    embassy was told before."""
    now = clock.now()
    claimed = (
        await Incident.filter(id=incident.id, embassy_notified_at__isnull=True).update(
            embassy_notified_at=now,
            escalation_level=3,
            status=IncidentStatus.ESCALATED,
            updated_at=now,
        )
        if incident.acknowledged_at is None
        else await Incident.filter(id=incident.id, embassy_notified_at__isnull=True).update(
            embassy_notified_at=now, updated_at=now
        )
    )
    if not claimed:
        return False
    brief = await _brief_params(incident)
    contacts = await Contact.filter(country=incident.country) if incident.country else []
    station = await _station_of(incident)
    origin = _origin(incident) or ((station.lat, station.lon) if station is not None else None)
    found = _nearest(contacts, (ContactKind.EMBASSY, ContactKind.CONSULATE), origin)
    if found is not None:
        embassy = found[0]
        for channel in _policy.embassy_channels:
            address = embassy.email if channel == Channel.EMAIL else embassy.phone
            if not address:
                continue
            await notify(
                recipient=address,
                channel=channel,
                language="en",
                msgid="sos.embassy_brief",
                params=brief,
                lane=Lane.ESCALATION,
                idempotency_key=f"incident-t3:{incident.id}:embassy:{channel.value}",
                source_kind=SOURCE,
                source_id=incident.id,
                clock=clock,
            )
            await event(
                incident.id, "alerted", at=now, tier=3, channel=channel.value, contact=embassy.name
            )
    for hq in await _hq_people():
        await notify(
            recipient=hq,
            msgid="sos.call_hotline",
            params={"name": brief["name"], "hotline": _policy.consular_hotline, "id": incident.id},
            lane=Lane.ESCALATION,
            idempotency_key=f"incident-t3:{incident.id}:task:{hq.id}",
            source_kind=SOURCE,
            source_id=incident.id,
            clock=clock,
        )
    await event(
        incident.id,
        "embassy_notified",
        at=now,
        actor_id=by.person.id if by else None,
        reason=reason,
        embassy=found[0].name if found else None,
    )
    return True


async def notify_embassy(*, actor: Actor, incident_id: int, clock: Clock) -> bool:
    """A safety officer (or HQ) has the embassy told now; False when it already was."""
    if not (actor.has(Role.SAFETY) or actor.has(Role.HQ)):
        raise NotAllowed("only safety or HQ")
    incident = await _load(incident_id)
    _open(incident)
    async with in_transaction():
        told = await _tier3(incident, clock, reason="asked", by=actor)
        if told and incident.acknowledged_at is None:
            await deadlines.cancel(TIER_DEADLINE, str(incident.id), clock=clock)
    return told


async def handle_tier(row: Deadline, clock: Clock) -> datetime | None:
    """The deadline handler: tier 2, then tier 3, unless someone took the incident."""
    incident = await Incident.get_or_none(id=int(row.key))
    if incident is None or incident.acknowledged_at is not None:
        return None
    if IncidentStatus(incident.status) == IncidentStatus.CLOSED:
        return None
    if incident.escalation_level <= 1:
        await _tier2(incident, clock)
        return clock.now() + _policy.tier3_after
    await _tier3(incident, clock, reason="time")
    return None


async def record_unreached(result: DeliveryResult) -> None:
    """Delivery hook: a responder or address that could not be reached goes on the timeline."""
    if result.source_id is None:
        return
    await event(
        result.source_id,
        "unreached",
        at=result.at,
        actor_id=result.person_id,
        channel=result.channel.value,
        error=result.error_code,
        message=result.message_id,
    )


async def record_delivered(result: DeliveryResult) -> None:
    """Delivery hook: an alarm that reached its recipient goes on the timeline."""
    if result.source_id is None:
        return
    await event(
        result.source_id,
        "delivered",
        at=result.at,
        actor_id=result.person_id,
        channel=result.channel.value,
        message=result.message_id,
    )


async def position_update(
    *, actor: Actor, lat: float, lon: float, clock: Clock
) -> Incident | None:
    """A position from the person with an open SOS moves the incident; None without one."""
    incident = await Incident.get_or_none(reported_by_id=actor.person.id, open_sos_marker=True)
    if incident is None:
        return None
    now = clock.now()
    await Incident.filter(id=incident.id).update(lat=lat, lon=lon, updated_at=now)
    await event(incident.id, "position", at=now, actor_id=actor.person.id, lat=lat, lon=lon)
    await incident.refresh_from_db()
    return incident


@dataclass(frozen=True)
class Listed:
    """An incident as /incidents lists it."""

    incident: Incident
    name: str


async def open_incidents_for(actor: Actor) -> list[Listed]:
    """Incidents for safety and HQ: open ones first, then the latest closed."""
    if not (actor.has(Role.SAFETY) or actor.has(Role.HQ) or actor.has(Role.ADMIN)):
        raise NotAllowed("only safety or HQ")
    open_ones = await Incident.filter(status__not=IncidentStatus.CLOSED).order_by("-opened_at")
    closed = await Incident.filter(status=IncidentStatus.CLOSED).order_by("-opened_at").limit(10)
    found = [*open_ones, *closed]
    ids = {_reporter_id(incident) for incident in found} - {None}
    names = {p.id: p.name for p in await Person.filter(id__in=list(ids))}
    return [Listed(incident, names.get(_reporter_id(incident) or 0, "?")) for incident in found]


OUTCOMES = IncidentClose.OUTCOMES


async def close_incident(
    *, actor: Actor, incident_id: int, outcome: str, clock: Clock
) -> Incident:
    """Safety or HQ closes an incident with an outcome; the person and responders are told."""
    if not (actor.has(Role.SAFETY) or actor.has(Role.HQ)):
        raise NotAllowed("only safety or HQ")
    if outcome not in OUTCOMES:
        raise InvalidInput("unknown outcome")
    incident = await _load(incident_id)
    _open(incident)
    now = clock.now()
    async with in_transaction():
        if incident.open_sos_marker:
            closed = await close_sos(
                incident.id, at=now, closed_by_id=actor.person.id, note=outcome
            )
        else:
            closed = bool(
                await Incident.filter(id=incident.id, status__not=IncidentStatus.CLOSED).update(
                    status=IncidentStatus.CLOSED,
                    closed_at=now,
                    closed_by_id=actor.person.id,
                    closing_note=outcome,
                    next_escalation_at=None,
                    updated_at=now,
                )
            )
        if not closed:
            raise Conflict("closed", msgid="sos.closed")
        await event(incident.id, "closed", at=now, actor_id=actor.person.id, outcome=outcome)
        await _stop_tiers(incident, clock)
        await deadlines.cancel(TIER_DEADLINE, str(incident.id), clock=clock)
        for address, language in await _people_on(incident, leave_out=actor.person.telegram_id):
            await notify(
                recipient=address,
                channel=Channel.TELEGRAM,
                language=language,
                msgid="sos.closed_by",
                params={
                    "id": incident.id,
                    "by": actor.person.name,
                    "outcome": translate(language, f"incidents.outcome.{outcome}"),
                },
                lane=Lane.EMERGENCY,
                idempotency_key=f"incident-closed:{incident.id}:{address}",
                source_kind=SOURCE,
                source_id=incident.id,
                clock=clock,
            )
    await incident.refresh_from_db()
    return incident


async def _people_on(incident: Incident, *, leave_out: int) -> list[tuple[str, str]]:
    """Telegram chats following an incident (the person and every alerted responder) with
    their language, without `leave_out`'s."""
    chats: dict[str, str] = {}
    reporter_id = _reporter_id(incident)
    reporter = await Person.get_or_none(id=reporter_id) if reporter_id else None
    if reporter is not None:
        chats[str(reporter.telegram_id)] = reporter.language
    for card in await messages_to_edit(SOURCE, incident.id, msgid=CARD):
        chats.setdefault(card.address, card.language or "en")
    chats.pop(str(leave_out), None)
    return list(chats.items())


async def incident_of(actor: Actor) -> Incident | None:
    """The open incident the actor's chat messages belong to: their own open SOS, else the
    one open incident they took."""
    own = await Incident.get_or_none(reported_by_id=actor.person.id, open_sos_marker=True)
    if own is not None:
        return own
    taken = (
        await Incident.filter(
            acknowledged_by_id=actor.person.id, status__not=IncidentStatus.CLOSED
        )
        .order_by("-opened_at")
        .limit(2)
    )
    return taken[0] if len(taken) == 1 else None


async def post_message(*, actor: Actor, text: str, clock: Clock) -> Incident | None:
    """A chat message from the person in danger or from the responder handling it: posted on
    the incident's timeline and relayed to everyone following it. None: no incident."""
    incident = await incident_of(actor)
    if incident is None:
        return None
    text = free_text(text).strip()[:1000]
    if not text:
        return incident
    now = clock.now()
    async with in_transaction():
        posted = await event(incident.id, "message", at=now, actor_id=actor.person.id, text=text)
        for address, language in await _people_on(incident, leave_out=actor.person.telegram_id):
            await notify(
                recipient=address,
                channel=Channel.TELEGRAM,
                language=language,
                msgid="sos.relayed",
                params={"name": actor.person.name, "text": text},
                lane=Lane.EMERGENCY,
                idempotency_key=f"incident-relay:{posted.id}:{address}",
                source_kind=SOURCE,
                source_id=incident.id,
                clock=clock,
            )
    return incident


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


async def sos_by_sms(sender: str, text: str, *, clock: Clock) -> Raised | None:
    """An SMS from the gateway: "SOS" (or "help", "救命") from a registered phone opens the
    person's SOS with their last known position; other words are ignored (None). NotFound
    for a number no active person has."""
    digits = _digits(sender)
    if len(digits) < 6:
        raise NotFound("no such phone")
    candidates = await Person.filter(
        active=True, registration_step__isnull=True, phone__endswith=digits[-6:]
    )
    person = next((p for p in candidates if p.phone and _digits(p.phone) == digits), None)
    if person is None:
        raise NotFound("no such phone")
    if not is_sos_text(text):
        return None
    raised = await open_incident(person, IncidentKind.SOS, clock=clock, source="sms")
    if raised.new:
        await notify(
            recipient=person.phone or sender,
            channel=Channel.SMS,
            language=person.language,
            msgid="sos.sms_received",
            lane=Lane.EMERGENCY,
            idempotency_key=f"incident-sms-ack:{raised.incident.id}",
            source_kind=SOURCE,
            source_id=raised.incident.id,
            clock=clock,
        )
    return raised
