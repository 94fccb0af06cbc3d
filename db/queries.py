"""SQL that Tortoise cannot spell for both databases: kept here, out of the services."""

from __future__ import annotations

from tortoise.connection import connections
from tortoise.expressions import RawSQL

# One separator that no role name contains (roles are lower-case words).
ROLE_SEPARATOR = ","
_ROLES_OF_PERSON = {
    "sqlite": "(SELECT group_concat(person_role.role, ',') FROM person_role "
    'WHERE person_role.person_id = "person".id)',
    "postgres": "(SELECT string_agg(person_role.role, ',') FROM person_role "
    'WHERE person_role.person_id = "person".id)',
}


def person_roles_sql() -> RawSQL:
    """The roles of the `person` row being selected, as one separated string (NULL if none).

    An annotation on a Person query, so a person, their station and their roles come back in one
    round trip instead of two: the gate reads them on every update.
    """
    return RawSQL(_ROLES_OF_PERSON[connections.get("default").capabilities.dialect])


def split_roles(value: str | None) -> list[str]:
    """The role names in what `person_roles_sql()` returned."""
    return [role for role in (value or "").split(ROLE_SEPARATOR) if role]
