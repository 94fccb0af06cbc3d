"""Security alerts: who a warning reaches, sending it on the broadcast lane, the answers
[I am safe] [I need help] [Not in the area], reminders to the silent, and where it stands."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from geopy.distance import geodesic
from tortoise.transactions import in_transaction

from db.enums import AlertReply, AlertScope, IncidentKind, Lane, Role, Severity
from db.models import (
    Alert,
    AlertAnswer,
    AlertDelivery,
    CheckIn,
    Deadline,
    Outing,
    Person,
    PersonRole,
    Station,
)
from i18n import translate
from services.attendance import heads_of
from services.callbacks import AlertPress, encode
from services.clock import Clock
from services.deadlines import schedule
from services.errors import InvalidInput, NotAllowed, NotFound
from services.notify import DeliveryResult, button, edit, notify, notify_many
from services.people import Actor
from services.sos import open_incident
from services.validation import free_text

logger = logging.getLogger(__name__)

# The source_kind of an alert's outbox messages (source_id: the alert's id).
ALERT_SOURCE = "alert"
# Deadline kinds: the sender's progress card, then reminders and the heads' silent list.
ALERT_PROGRESS = "alert_progress"
ALERT_FOLLOW_UP = "alert_follow_up"
PROGRESS_EVERY = timedelta(seconds=5)

SENDERS = frozenset({Role.HQ, Role.SAFETY, Role.ADMIN})
MAX_TITLE = 200
MAX_BODY = 3000
MAX_RADIUS_M = 500_000
# The order in which a reader's missing language falls back.
FALLBACKS: Mapping[str, tuple[str, ...]] = {"zh-Hans": ("zh-Hans", "zh"), "zh": ("zh", "zh-Hans")}


@dataclass(frozen=True)
class Audience:
    """Who an alert is for: everyone, countries, stations, or a circle around a point."""

    scope: AlertScope
    values: tuple[str, ...] = ()  # country codes (COUNTRY) or station codes (STATION)
    lat: float | None = None
    lon: float | None = None
    radius_m: int | None = None

    def check(self) -> Audience:
        """The audience, refused when it names nothing or an impossible circle."""
        if self.scope in (AlertScope.COUNTRY, AlertScope.STATION) and not self.values:
            raise InvalidInput("no country or station", msgid="alert.error.no_audience")
        if self.scope == AlertScope.AREA:
            if self.lat is None or self.lon is None or self.radius_m is None:
                raise InvalidInput("no area", msgid="alert.error.no_audience")
            if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
                raise InvalidInput("bad point", msgid="alert.error.bad_point")
            if not 0 < self.radius_m <= MAX_RADIUS_M:
                raise InvalidInput("bad radius", msgid="alert.error.bad_radius")
        return self


@dataclass(frozen=True)
class Draft:
    """An alert as composed, before it is sent."""

    severity: Severity
    audience: Audience
    # Title and text per language tag; the first is the main one.
    texts: Mapping[str, Mapping[str, str]]
    expires_at: datetime | None = None
    requires_ack: bool = True
    remind_after: timedelta = timedelta(minutes=30)
    heads_after: timedelta = timedelta(minutes=60)


def may_send(roles: Iterable[Role]) -> bool:
    """True when someone holding `roles` may send alerts."""
    return bool(SENDERS.intersection(roles))


async def require_sender(actor: Actor | None) -> Actor:
    """The actor, when the database says now that they may send alerts (NotAllowed if not)."""
    if actor is None:
        raise NotAllowed("not registered")
    granted = await PersonRole.filter(
        person_id=actor.person.id, person__active=True, role__in=list(SENDERS)
    ).exists()
    if not granted:
        raise NotAllowed("only HQ, safety and admins send alerts")
    return actor


def _within(lat: float | None, lon: float | None, audience: Audience) -> bool:
    if lat is None or lon is None:
        return False
    if audience.lat is None or audience.lon is None or audience.radius_m is None:
        return False
    return bool(geodesic((audience.lat, audience.lon), (lat, lon)).meters <= audience.radius_m)


async def _in_area(audience: Audience) -> list[Person]:
    """People whose latest check-in (its live position when newer) or open outing's last
    position lies within the circle."""
    people = {
        person.id: person
        for person in await Person.filter(active=True, registration_step__isnull=True)
    }
    inside: set[int] = set()
    latest: dict[int, CheckIn] = {}
    for checkin in await CheckIn.filter(person_id__in=list(people)).order_by("at", "id"):
        latest[checkin.person_id] = checkin
    for person_id, checkin in latest.items():
        lat = checkin.last_lat if checkin.last_lat is not None else checkin.lat
        lon = checkin.last_lon if checkin.last_lon is not None else checkin.lon
        if _within(lat, lon, audience):
            inside.add(person_id)
    for outing in await Outing.filter(
        person_id__in=list(people), open_marker=True, last_lat__isnull=False
    ):
        if _within(outing.last_lat, outing.last_lon, audience):
            inside.add(outing.person_id)
    return [people[person_id] for person_id in sorted(inside)]


async def recipients(audience: Audience) -> list[Person]:
    """Exactly the registered, active people the alert reaches, by id."""
    audience.check()
    query = Person.filter(active=True, registration_step__isnull=True)
    if audience.scope == AlertScope.ALL:
        return list(await query.order_by("id"))
    if audience.scope == AlertScope.COUNTRY:
        countries = [value.upper() for value in audience.values]
        return list(await query.filter(station__country__in=countries).order_by("id"))
    if audience.scope == AlertScope.STATION:
        codes = [value.upper() for value in audience.values]
        return list(await query.filter(station__code__in=codes).order_by("id"))
    return await _in_area(audience)


async def count(audience: Audience) -> int:
    """The exact number of people the alert would reach now (the preview's figure)."""
    return len(await recipients(audience))


async def countries() -> list[str]:
    """The countries with an active station, for the composer's buttons."""
    codes = await Station.filter(active=True).distinct().values_list("country", flat=True)
    return sorted({str(code) for code in codes})


async def stations() -> list[Station]:
    """The active stations, for the composer's buttons."""
    return list(await Station.filter(active=True).order_by("code"))


def pick_text(texts: Mapping[str, Mapping[str, str]], language: str) -> Mapping[str, str]:
    """The reader's own title and text, else the closest: zh-Hans → zh → en → the first."""
    if not texts:
        return {"title": "", "body": ""}
    for tag in (*FALLBACKS.get(language, (language,)), language, "en"):
        if tag in texts:
            return texts[tag]
    for tag, text in texts.items():
        if tag.split("-")[0] == language.split("-")[0]:
            return text
    return next(iter(texts.values()))


def check_title(text: str) -> str:
    """A title of 1-200 characters."""
    title = free_text(text).strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput("bad title", msgid="alert.error.title", limit=MAX_TITLE)
    return title


def check_body(text: str) -> str:
    """A text of 1-3000 characters."""
    body = free_text(text).strip()
    if not body or len(body) > MAX_BODY:
        raise InvalidInput("bad text", msgid="alert.error.body", limit=MAX_BODY)
    return body


def _texts(draft: Draft) -> dict[str, dict[str, str]]:
    texts = {
        tag: {
            "title": check_title(text.get("title", "")),
            "body": check_body(text.get("body", "")),
        }
        for tag, text in draft.texts.items()
    }
    if not texts:
        raise InvalidInput("no text", msgid="alert.error.title", limit=MAX_TITLE)
    return texts


def answer_buttons(alert_id: int) -> list[list[dict[str, object]]]:
    """[I am safe] [I need help] [Not in the area] under an alert."""
    return [
        [button("alert.button.safe", callback_data=encode(AlertPress(alert_id, AlertReply.SAFE)))],
        [button("alert.button.help", callback_data=encode(AlertPress(alert_id, AlertReply.HELP)))],
        [button("alert.button.away", callback_data=encode(AlertPress(alert_id, AlertReply.AWAY)))],
    ]


def _message_params(alert: Alert, language: str) -> dict[str, str]:
    text = pick_text(alert.texts, language)
    return {
        "severity": translate(language, f"alert.severity.{alert.severity}"),
        "title": text["title"],
        "body": text["body"],
    }


async def send(actor: Actor | None, draft: Draft, *, clock: Clock) -> Alert:
    """Record the alert and queue one message per recipient on the broadcast lane, the
    sender's status card, and the follow-ups (reminders, then the heads' silent lists)."""
    sender = await require_sender(actor)
    audience = draft.audience.check()
    texts = _texts(draft)
    now = clock.now()
    if draft.expires_at is not None and draft.expires_at <= now:
        raise InvalidInput("expiry in the past", msgid="alert.error.expired")
    first = next(iter(texts.values()))
    people = await recipients(audience)
    if not people:
        raise InvalidInput("nobody", msgid="alert.error.nobody")
    async with in_transaction():
        alert = await Alert.create(
            created_by_id=sender.person.id,
            created_at=now,
            scope=audience.scope,
            scope_value=",".join(audience.values) or None,
            area_lat=audience.lat,
            area_lon=audience.lon,
            area_radius_m=audience.radius_m,
            severity=draft.severity,
            title=first["title"],
            body=first["body"],
            requires_ack=draft.requires_ack,
            expires_at=draft.expires_at,
            texts=texts,
            recipient_count=len(people),
            remind_after_min=int(draft.remind_after.total_seconds() // 60),
            heads_after_min=int(draft.heads_after.total_seconds() // 60),
        )
        by_language: dict[str, list[Person]] = defaultdict(list)
        for person in people:
            by_language[person.language].append(person)
        buttons = answer_buttons(alert.id) if draft.requires_ack else None
        rows = []
        for language, group in by_language.items():
            rows.extend(
                await notify_many(
                    recipients=group,
                    msgid="alert.message",
                    params=_message_params(alert, language),
                    buttons=buttons,
                    lane=Lane.BROADCAST,
                    idempotency_key=f"alert:{alert.id}",
                    source_kind=ALERT_SOURCE,
                    source_id=alert.id,
                    clock=clock,
                )
            )
        await AlertDelivery.bulk_create(
            [
                AlertDelivery(
                    alert_id=alert.id,
                    person_id=row.recipient_id,  # type: ignore[attr-defined]
                    outbox_message_id=row.id,
                )
                for row in rows
            ]
        )
        card = await notify(
            recipient=sender.person,
            msgid="alert.progress",
            params=await _progress_params(alert),
            lane=Lane.ESCALATION,
            idempotency_key=f"alert:{alert.id}:card",
            clock=clock,
            source_kind=ALERT_SOURCE + "_card",
            source_id=alert.id,
        )
        alert.status_message_id = card.id
        await alert.save(update_fields=["status_message_id"])
        await schedule(ALERT_PROGRESS, str(alert.id), now + PROGRESS_EVERY)
        if draft.requires_ack:
            await schedule(ALERT_FOLLOW_UP, str(alert.id), now + draft.remind_after)
    logger.info("alert %s queued for %d recipient(s)", alert.id, len(people))
    return alert


@dataclass(frozen=True)
class Progress:
    """How far an alert's delivery has gone."""

    sent: int
    failed: int
    pending: int


async def progress(alert_id: int) -> Progress:
    """Sent, failed (blocked or given up) and still pending, from the recipients' rows."""
    rows = await AlertDelivery.filter(alert_id=alert_id).values("delivered_at", "failed_at")
    sent = sum(1 for row in rows if row["delivered_at"] is not None)
    failed = sum(1 for row in rows if row["delivered_at"] is None and row["failed_at"] is not None)
    return Progress(sent, failed, len(rows) - sent - failed)


async def _progress_params(alert: Alert) -> dict[str, object]:
    state = await progress(alert.id)
    return {
        "id": alert.id,
        "title": alert.title,
        "sent": state.sent,
        "failed": state.failed,
        "pending": state.pending,
        "total": alert.recipient_count,
    }


async def handle_progress(deadline: Deadline, clock: Clock) -> datetime | None:
    """Edit the sender's status card; look again in a few seconds while anything is pending."""
    alert = await Alert.get_or_none(id=int(deadline.key))
    if alert is None or alert.status_message_id is None:
        return None
    params = await _progress_params(alert)
    await edit(
        original=alert.status_message_id,
        msgid="alert.progress",
        params=params,
        idempotency_key=(
            f"alert:{alert.id}:card:{params['sent']}:{params['failed']}:{params['pending']}"
        ),
        clock=clock,
    )
    return clock.now() + PROGRESS_EVERY if params["pending"] else None


async def mark_delivered(result: DeliveryResult) -> None:
    """An alert message reached its recipient: note when, once (a resend keeps the first)."""
    await AlertDelivery.filter(
        outbox_message_id=result.message_id, delivered_at__isnull=True
    ).update(delivered_at=result.at)


async def mark_failed(result: DeliveryResult) -> None:
    """An alert message could not reach its recipient (blocked, or failed for good)."""
    await AlertDelivery.filter(
        outbox_message_id=result.message_id, delivered_at__isnull=True, failed_at__isnull=True
    ).update(failed_at=result.at)


async def answer(
    *, telegram_id: int, alert_id: int, reply: AlertReply, clock: Clock
) -> AlertDelivery:
    """Record a recipient's answer (a later press changes it; every press is kept). Only a
    recipient of the alert may answer it. "I need help" opens an incident for them."""
    now = clock.now()
    person = await Person.get_or_none(telegram_id=telegram_id, active=True)
    if person is None:
        raise NotAllowed("not a recipient")
    async with in_transaction():
        delivery = await AlertDelivery.get_or_none(alert_id=alert_id, person_id=person.id)
        if delivery is None:
            raise NotAllowed("not a recipient of this alert")
        alert = await Alert.get(id=alert_id)
        if alert.closed_at is not None or (
            alert.expires_at is not None and alert.expires_at <= now
        ):
            raise InvalidInput("alert over", msgid="alert.error.over")
        await AlertAnswer.create(delivery_id=delivery.id, answer=reply, answered_at=now)
        previous = delivery.answer
        delivery.answer = reply
        delivery.acknowledged_at = now
        delivery.needs_help = delivery.needs_help or reply == AlertReply.HELP
        await delivery.save(update_fields=["answer", "acknowledged_at", "needs_help"])
        if reply == AlertReply.HELP and previous != AlertReply.HELP:
            await _needs_help(person, alert, now, clock)
    return delivery


async def _needs_help(person: Person, alert: Alert, now: datetime, clock: Clock) -> None:
    """ "I need help" on an alert is an SOS: the SOS service opens the incident (one open SOS per
    person) and alerts its responders at once, with its tiers; safety officers and HQ also hear
    which alert it answered."""
    raised = await open_incident(
        person,
        IncidentKind.SOS,
        clock=clock,
        summary=f"alert {alert.id}: {alert.title}"[:500],
        source="alert",
    )
    if not raised.new:
        return
    incident = raised.incident
    for officer in await officers():
        await notify(
            recipient=officer,
            msgid="alert.needs_help",
            params={"name": person.name, "title": alert.title, "incident": incident.id},
            lane=Lane.EMERGENCY,
            idempotency_key=f"alert:{alert.id}:help:{person.id}:{officer.id}",
            source_kind="incident",
            source_id=incident.id,
            clock=clock,
        )


async def officers() -> list[Person]:
    """Safety officers and HQ, each once."""
    grants = (
        await PersonRole.filter(
            role__in=[Role.SAFETY, Role.HQ],
            person__active=True,
            person__registration_step__isnull=True,
        )
        .prefetch_related("person")
        .order_by("person_id")
    )
    seen: dict[int, Person] = {}
    for grant in grants:
        seen.setdefault(grant.person.id, grant.person)
    return list(seen.values())


async def silent(alert_id: int) -> list[AlertDelivery]:
    """The recipients reached who have not answered (with their person and station)."""
    return list(
        await AlertDelivery.filter(alert_id=alert_id, answer__isnull=True, failed_at__isnull=True)
        .prefetch_related("person")
        .order_by("person_id")
    )


async def handle_follow_up(deadline: Deadline, clock: Clock) -> datetime | None:
    """First a reminder to those who have not answered, later their heads get the list."""
    alert = await Alert.get_or_none(id=int(deadline.key))
    if alert is None or alert.closed_at is not None:
        return None
    now = clock.now()
    if alert.expires_at is not None and alert.expires_at <= now:
        return None
    quiet = await silent(alert.id)
    if not quiet:
        return None
    reminded = await AlertDelivery.filter(alert_id=alert.id, reminded_at__isnull=False).exists()
    if not reminded:
        for delivery in quiet:
            await notify(
                recipient=delivery.person,
                msgid="alert.reminder",
                params=_message_params(alert, delivery.person.language),
                buttons=answer_buttons(alert.id),
                lane=Lane.BROADCAST,
                idempotency_key=f"alert:{alert.id}:remind:{delivery.person.id}",
                source_kind=ALERT_SOURCE + "_reminder",
                source_id=alert.id,
                clock=clock,
            )
        await AlertDelivery.filter(id__in=[d.id for d in quiet]).update(reminded_at=now)
        # Then the heads, at `heads_after` from sending.
        return now + timedelta(minutes=max(alert.heads_after_min - alert.remind_after_min, 1))
    by_station: dict[int, list[str]] = defaultdict(list)
    for delivery in quiet:
        if delivery.person.station_id is not None:
            by_station[delivery.person.station_id].append(delivery.person.name)
    for station_id, names in by_station.items():
        for head in await heads_of(station_id):
            await notify(
                recipient=head,
                msgid="alert.heads_silent",
                params={"title": alert.title, "count": len(names), "names": ", ".join(names)},
                lane=Lane.ESCALATION,
                idempotency_key=f"alert:{alert.id}:heads:{station_id}:{head.id}",
                source_kind=ALERT_SOURCE + "_heads",
                source_id=alert.id,
                clock=clock,
            )
    return None


@dataclass
class StationTally:
    """One station's figures on an alert."""

    station: str
    recipients: int = 0
    answered: int = 0
    safe: int = 0
    help: int = 0
    away: int = 0
    silent: int = 0
    unreached: int = 0
    silent_names: list[str] = field(default_factory=list)
    unreached_names: list[str] = field(default_factory=list)


async def status(actor: Actor | None, alert_id: int) -> tuple[Alert, list[StationTally]]:
    """Per station: answered, safe, need help, not in the area, no answer, not reached."""
    await require_sender(actor)
    alert = await Alert.get_or_none(id=alert_id)
    if alert is None:
        raise NotFound("no such alert")
    tallies: dict[str, StationTally] = {}
    deliveries = (
        await AlertDelivery.filter(alert_id=alert_id)
        .prefetch_related("person__station")
        .order_by("person_id")
    )
    for delivery in deliveries:
        station = delivery.person.station
        code = station.code if station is not None else "—"
        tally = tallies.setdefault(code, StationTally(code))
        tally.recipients += 1
        if delivery.answer is not None:
            tally.answered += 1
            if delivery.answer == AlertReply.SAFE:
                tally.safe += 1
            elif delivery.answer == AlertReply.HELP:
                tally.help += 1
            else:
                tally.away += 1
        elif delivery.failed_at is not None and delivery.delivered_at is None:
            tally.unreached += 1
            tally.unreached_names.append(delivery.person.name)
        else:
            tally.silent += 1
            tally.silent_names.append(delivery.person.name)
    return alert, [tallies[code] for code in sorted(tallies)]


async def latest(actor: Actor | None) -> Alert | None:
    """The most recent alert (for `/alert status` without an id)."""
    await require_sender(actor)
    return await Alert.all().order_by("-id").first()


async def history(alert_id: int) -> Sequence[AlertAnswer]:
    """Every answer pressed on an alert, oldest first."""
    return list(
        await AlertAnswer.filter(delivery__alert_id=alert_id)
        .prefetch_related("delivery__person")
        .order_by("answered_at", "id")
    )
