"""Who someone is: the person behind a Telegram account, and their roles."""

from __future__ import annotations

from dataclasses import dataclass

from db.enums import Role
from db.models import Person


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


async def identify(telegram_id: int) -> Actor | None:
    """The active person with this Telegram id and their roles, or None for anyone else."""
    person = await Person.get_or_none(telegram_id=telegram_id, active=True).prefetch_related(
        "roles"
    )
    if person is None:
        return None
    return Actor(person=person, roles=frozenset(Role(grant.role) for grant in person.roles))
