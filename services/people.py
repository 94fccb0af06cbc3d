"""Who someone is: the person behind a Telegram account, their roles, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from db.enums import Role
from db.models import AuditLog, Person, PersonRole, Station
from db.queries import person_roles_sql, split_roles
from services.clock import Clock, SystemClock
from services.errors import NotAllowed, NotFound
from services.localtime import local_date, station_zone
from services.validation import language_tag, row_id


@dataclass(frozen=True)
class Actor:
    """A registered, active person and the roles the database gives them now."""

    person: Person
    roles: frozenset[Role]

    @property
    def language(self) -> str:
        """The language the person reads Outpost in."""
        return self.person.language

    def has(self, *roles: Role) -> bool:
        """True when the person holds any of `roles`."""
        return bool(self.roles.intersection(roles))


class Standing(StrEnum):
    """Where someone stands with Outpost when they write to the bot."""

    REGISTERED = "registered"
    REGISTERING = "registering"  # opened an invite, has not finished the steps
    STRANGER = "stranger"  # unknown, or deactivated


@dataclass(frozen=True)
class Access:
    """What the gate needs to know about whoever sent an update."""

    standing: Standing
    actor: Actor | None = None
    person: Person | None = None  # set for REGISTERED and REGISTERING


async def _load(telegram_id: int) -> tuple[Person, frozenset[Role]] | None:
    # One round trip: the station (nearly every action needs it) and the roles come with the
    # person. Read on every update, never cached: a role taken away counts at once.
    person = await (
        Person.filter(telegram_id=telegram_id, active=True)
        .select_related("station")
        .annotate(role_list=person_roles_sql())
        .first()
    )
    if person is None:
        return None
    roles = frozenset(Role(role) for role in split_roles(person.role_list))  # type: ignore[attr-defined]
    return person, roles


async def identify(telegram_id: int) -> Actor | None:
    """The active, registered person with this Telegram id and their roles, else None."""
    loaded = await _load(telegram_id)
    if loaded is None or loaded[0].registration_step is not None:
        return None
    return Actor(*loaded)


async def access(telegram_id: int) -> Access:
    """Registered, registering or a stranger (unknown and deactivated people alike)."""
    loaded = await _load(telegram_id)
    if loaded is None:
        return Access(Standing.STRANGER)
    person, roles = loaded
    if person.registration_step is not None:
        return Access(Standing.REGISTERING, person=person)
    return Access(Standing.REGISTERED, actor=Actor(person, roles), person=person)


async def actor_station(actor: Actor) -> Station | None:
    """The actor's station: the one read with them (see `_load`), else from the database."""
    station_id = actor.person.station_id
    if station_id is None:
        return None
    station = actor.person.station
    if isinstance(station, Station) and station.id == station_id:
        return station
    return await Station.get(id=station_id)


async def station_today(actor: Actor, clock: Clock) -> date:
    """Today on the calendar of the actor's station (UTC's for people without a station)."""
    station = await actor_station(actor)
    if station is None:
        return clock.now().date()
    return local_date(clock.now(), station_zone(station))


def require(actor: Actor | None, *roles: Role) -> Actor:
    """The actor, when they hold one of `roles`; NotAllowed otherwise."""
    if actor is None or not actor.has(*roles):
        raise NotAllowed("missing role")
    return actor


def require_station(actor: Actor | None, station_id: int) -> Actor:
    """The actor when they head station `station_id`, or oversee all stations (HQ, safety)."""
    actor = require(actor, Role.HEAD, Role.HQ, Role.SAFETY, Role.ADMIN)
    if actor.has(Role.HQ, Role.SAFETY, Role.ADMIN):
        return actor
    if actor.person.station_id != station_id:
        raise NotAllowed("head of another station")
    return actor


@dataclass(frozen=True)
class RosterLine:
    """One person of a station as the head sees them."""

    name: str
    roles: tuple[Role, ...]
    registering: bool


async def station_roster(actor: Actor | None, station_id: int) -> list[RosterLine]:
    """The active people of a station, for its head (or HQ and safety)."""
    require_station(actor, station_id)
    people = await Person.filter(station_id=row_id(station_id), active=True).order_by("name")
    grants: dict[int, list[Role]] = {}
    for grant in await PersonRole.filter(person_id__in=[p.id for p in people]).order_by("role"):
        grants.setdefault(grant.person_id, []).append(  # type: ignore[attr-defined]
            Role(grant.role)
        )
    return [
        RosterLine(p.name, tuple(grants.get(p.id, [])), p.registration_step is not None)
        for p in people
    ]


async def set_language(actor: Actor, language: str, *, clock: Clock | None = None) -> str:
    """Switch the language the person reads Outpost in; returns the stored tag."""
    tag = language_tag(language)
    if tag == actor.person.language:
        return tag
    actor.person.language = tag
    await actor.person.save(update_fields=["language", "updated_at"])
    await AuditLog.create(
        at=(clock or SystemClock()).now(),
        actor=actor.person,
        action="person.language",
        object_kind="person",
        object_id=actor.person.id,
        data={"language": tag},
    )
    return tag


async def published_menu(person: Person, key: str | None) -> None:
    """Remember which command menu this person's chat shows now."""
    person.menu_key = key
    await Person.filter(id=person.id).update(menu_key=key)


async def menus_to_refresh() -> list[tuple[Person, frozenset[Role] | None]]:
    """People whose chat menu may be stale: registered people (with roles) and deactivated
    people who still have a personal menu (None: remove it)."""
    result: list[tuple[Person, frozenset[Role] | None]] = []
    for person in await Person.filter(
        active=True, registration_step__isnull=True
    ).prefetch_related("roles"):
        result.append((person, frozenset(Role(grant.role) for grant in person.roles)))
    for person in await Person.filter(active=False, menu_key__isnull=False):
        result.append((person, None))
    return result


async def deactivated_with_menu(telegram_id: int) -> Person | None:
    """The deactivated person of this account whose own menu is still published, if any."""
    return await Person.get_or_none(telegram_id=telegram_id, active=False, menu_key__isnull=False)


async def person_by_telegram_id(telegram_id: int) -> Person:
    """The person with this Telegram id, active or not; NotFound otherwise."""
    person = await Person.get_or_none(telegram_id=telegram_id)
    if person is None:
        raise NotFound(f"no person with Telegram id {telegram_id}")
    return person


# The role named on a card when a person holds several: the one that matters most to a decider.
_BADGE_ORDER = (Role.HQ, Role.HEAD, Role.SAFETY, Role.STAFF, Role.ADMIN)


async def badge(person: Person, language: str | None) -> str:
    """The person's role and station as the database has them ("station head, Lagos"), in the
    reader's language: shown beside a display name so that a name such as "Li Ming (HQ)"
    cannot pass for someone else."""
    from i18n import translate

    held = set(await PersonRole.filter(person_id=person.id).values_list("role", flat=True))
    role = next((r for r in _BADGE_ORDER if r in held or r.value in held), None)
    station = (
        await Station.get_or_none(id=person.station_id) if person.station_id is not None else None
    )
    role_name = translate(language, f"role.{role.value}") if role is not None else None
    if role_name and station is not None:
        return translate(language, "person.badge", role=role_name, station=station.name)
    if role_name or station is not None:
        return translate(
            language, "person.badge_one", what=role_name or (station.name if station else "")
        )
    return ""
