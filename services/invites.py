"""Invitations and registration: a single-use code, then the person's own phone and language.

The step an invited person has reached is stored on their row (`Person.registration_step`), so a
restart in the middle of a registration loses nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from db.enums import Lane, Role
from db.models import AuditLog, Conversation, Invite, Person, PersonRole, Station
from i18n import N_, available_languages, language_name, normalize_language
from services.callbacks import StationRoster, encode
from services.clock import Clock
from services.conversations import (
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
    open_flow,
)
from services.errors import Conflict, InvalidInput, NotFound
from services.notify import button, notify
from services.validation import display_name, language_tag, shared_phone

STEP_PHONE = "phone"
STEP_LANGUAGE = "language"
STEPS = (STEP_PHONE, STEP_LANGUAGE)
DEFAULT_EXPIRY = timedelta(days=7)
CODE_BYTES = 18  # 24 URL-safe characters; /start payloads may be 64
# What a /start payload may hold (Telegram's deep links): anything else is no code of ours.
INVITE_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
ROLE_NOTICE = {
    Role.STAFF: N_("registration.notice.staff"),
    Role.HEAD: N_("registration.notice.head"),
    Role.SAFETY: N_("registration.notice.safety"),
    Role.HQ: N_("registration.notice.hq"),
    Role.ADMIN: N_("registration.notice.admin"),
}


def parse_duration(text: str) -> timedelta:
    """'7d', '12h' or '30m' as a timedelta."""
    match = DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(f"not a duration like 7d, 12h or 30m: {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return (
        timedelta(days=amount)
        if unit == "d"
        else (timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount))
    )


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot with /start <code>."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


async def create_invite(
    *,
    role: Role,
    station_code: str | None,
    expires_in: timedelta | None = DEFAULT_EXPIRY,
    created_by: Person | None = None,
    clock: Clock,
) -> Invite:
    """A new single-use invitation; staff and heads need a station."""
    now = clock.now()
    station = None
    if station_code is not None:
        station = await Station.get_or_none(code=station_code)
        if station is None:
            raise NotFound(f"no station with code {station_code}")
    elif role in (Role.STAFF, Role.HEAD):
        raise InvalidInput(f"a {role} invitation needs a station (--station CODE)")
    invite = await Invite.create(
        code=secrets.token_urlsafe(CODE_BYTES),
        role=role,
        station=station,
        created_by=created_by,
        expires_at=now + expires_in if expires_in else None,
    )
    await AuditLog.create(
        at=now,
        actor=created_by,
        action="invite.created",
        object_kind="invite",
        object_id=invite.id,
        data={"role": str(role), "station": station_code},
    )
    return invite


@dataclass(frozen=True)
class Registration:
    """A person part-way through (or at the end of) registering."""

    person: Person
    step: str | None


async def claim_invite(
    *,
    code: str,
    telegram_id: int,
    name: str,
    telegram_language: str | None,
    clock: Clock,
) -> Registration:
    """Use an invitation: the person is registered with its role and station, at the phone step.

    The code is claimed with a conditional UPDATE (`used_at IS NULL`), so a code opened twice
    at once registers one person.
    """
    now = clock.now()
    existing = await Person.get_or_none(telegram_id=telegram_id)
    if existing is not None and existing.active:
        if existing.registration_step is not None:
            return Registration(existing, existing.registration_step)
        raise Conflict("already registered", msgid="invite.already_registered")
    code = code.strip()
    if not INVITE_CODE.fullmatch(code):
        # Longer than the column, or characters no code has (a NUL stops PostgreSQL).
        raise NotFound("not an invitation code", msgid="invite.unknown")
    invite = await Invite.get_or_none(code=code)
    if invite is None:
        raise NotFound("unknown invitation", msgid="invite.unknown")
    if invite.used_at is not None:
        raise Conflict("invitation used", msgid="invite.used")
    if invite.expires_at is not None and invite.expires_at <= now:
        raise InvalidInput("invitation expired", msgid="invite.expired")
    async with in_transaction():
        claimed = await Invite.filter(id=invite.id, used_at__isnull=True).update(used_at=now)
        if claimed != 1:
            raise Conflict("invitation used", msgid="invite.used")
        language = normalize_language(telegram_language) or "en"
        if existing is None:
            # Telegram's name as typed by its owner: cleaned of control and bidi characters.
            clean = display_name(name)[:200].strip()
            person = await Person.create(
                telegram_id=telegram_id,
                name=clean or str(telegram_id),
                language=language,
                station_id=invite.station_id,  # type: ignore[attr-defined]
                registration_step=STEP_PHONE,
            )
        else:
            # A deactivated person invited again starts afresh with the new role and station.
            person = existing
            person.active, person.deactivated_at, person.handed_over_to = True, None, None
            person.station_id = invite.station_id  # type: ignore[attr-defined]
            person.registration_step = STEP_PHONE
            await person.save()
            await PersonRole.filter(person=person).delete()
        await PersonRole.create(person=person, role=invite.role)
        await Invite.filter(id=invite.id).update(used_by_id=person.id)
        await AuditLog.create(
            at=now,
            actor=person,
            action="invite.claimed",
            object_kind="invite",
            object_id=invite.id,
            data={"role": str(invite.role), "person_id": person.id},
        )
        await open_flow(REGISTRATION_FLOW, telegram_id=telegram_id, person=person, clock=clock)
    return Registration(person, STEP_PHONE)


async def registering(telegram_id: int) -> Person | None:
    """The active person with this Telegram id who has not finished registering, or None."""
    return await Person.get_or_none(
        telegram_id=telegram_id, active=True, registration_step__isnull=False
    )


async def record_phone(
    *,
    telegram_id: int,
    phone_number: str,
    contact_user_id: int | None,
) -> Registration:
    """Keep the person's own phone number (a contact of someone else is refused)."""
    person = await registering(telegram_id)
    if person is None:
        raise NotFound("no registration under way")
    if contact_user_id != telegram_id:
        raise InvalidInput("not the sender's own contact", msgid="registration.not_own_contact")
    try:
        phone = shared_phone(phone_number)
    except InvalidInput:
        raise InvalidInput("unreadable number", msgid="registration.bad_phone") from None
    person.phone = phone
    person.registration_step = STEP_LANGUAGE
    await person.save(update_fields=["phone", "registration_step", "updated_at"])
    return Registration(person, STEP_LANGUAGE)


async def finish_with_language(*, telegram_id: int, language: str, clock: Clock) -> Registration:
    """Store the chosen language, finish registering and tell the station's heads."""
    now = clock.now()
    person = await registering(telegram_id)
    if person is None:
        raise NotFound("no registration under way")
    if person.registration_step != STEP_LANGUAGE:
        raise Conflict("phone first", msgid="registration.phone_first")
    tag = language_tag(language)
    async with in_transaction():
        # Conditional, so a double tap on the language buttons finishes (and notifies) once.
        finished = await Person.filter(id=person.id, registration_step=STEP_LANGUAGE).update(
            language=tag, registration_step=None, updated_at=now
        )
        if finished != 1:
            raise Conflict("already finished", msgid="registration.phone_first")
        person.language, person.registration_step = tag, None
        await Conversation.filter(telegram_id=telegram_id, flow=REGISTRATION_FLOW.name).delete()
        await AuditLog.create(
            at=now,
            actor=person,
            action="person.registered",
            object_kind="person",
            object_id=person.id,
            data={},
        )
        await _tell_heads(person, now, clock)
    return Registration(person, None)


async def _tell_heads(person: Person, now: datetime, clock: Clock) -> None:
    station_id = person.station_id
    if station_id is None:
        return
    grant = await PersonRole.filter(person=person).order_by("id").first()
    role = Role(grant.role) if grant is not None else Role.STAFF
    heads = (
        await Person.filter(
            station_id=station_id,
            active=True,
            registration_step__isnull=True,
            roles__role=Role.HEAD,
        )
        .exclude(id=person.id)
        .distinct()
    )
    for head in heads:
        await notify(
            recipient=head,
            msgid=ROLE_NOTICE[role],
            params={"name": person.name},
            buttons=[
                [button(N_("roster.button"), callback_data=encode(StationRoster(station_id)))]
            ],
            lane=Lane.ROUTINE,
            idempotency_key=f"registered/{person.id}/{now:%Y%m%dT%H%M%S}/head/{head.id}",
            source_kind="person",
            source_id=person.id,
            clock=clock,
        )


async def resume_registration(person: Person, clock: Clock) -> None:
    """Give a person who is registering their conversation back at their step, if it is gone
    (a registration begun before conversations were kept, or a row removed by hand)."""
    if person.registration_step is None:
        return
    row = await Conversation.get_or_none(telegram_id=person.telegram_id)
    if row is not None and row.flow == REGISTRATION_FLOW.name:
        return
    step = person.registration_step if person.registration_step in STEPS else STEP_PHONE
    await open_flow(
        REGISTRATION_FLOW, telegram_id=person.telegram_id, person=person, clock=clock, step=step
    )


async def _ask_phone(state: FlowState) -> Prompt:
    return Prompt(Text("registration.ask_phone"), contact_button="registration.share_phone")


async def _check_phone(state: FlowState, answer: Answer) -> Moved:
    await record_phone(
        telegram_id=state.telegram_id,
        phone_number=answer.phone or "",
        contact_user_id=answer.contact_user_id,
    )
    return Moved(note=Text("registration.phone_saved"))


async def _ask_language(state: FlowState) -> Prompt:
    return Prompt(
        Text("registration.ask_language"),
        [[Choice(tag, language_name(tag), literal=True)] for tag in available_languages()],
    )


async def _check_language(state: FlowState, answer: Answer) -> Finished:
    registration = await finish_with_language(
        telegram_id=state.telegram_id, language=answer.text, clock=state.clock
    )
    person = registration.person
    return Finished(Text("registration.done", {"name": person.name}), language=person.language)


def _dropped(answers: object, expired: bool) -> Text:
    return Text("flow.dropped")


# Registration waits as long as it takes and cannot be cancelled: the invitation is used.
REGISTRATION_FLOW = Flow(
    name="registration",
    steps=(
        Step(
            STEP_PHONE,
            _ask_phone,
            _check_phone,
            accepts=frozenset({AnswerKind.CONTACT}),
            back=False,
        ),
        Step(STEP_LANGUAGE, _ask_language, _check_language, back=False),
    ),
    dropped=_dropped,
    ttl=None,
    cancellable=False,
)
