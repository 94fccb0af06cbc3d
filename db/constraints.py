"""Inserting a row that a unique constraint may refuse, without spoiling the caller's transaction.

The invariants that matter (one first sign-in per person and day, one open outing and one open
SOS per person) are unique constraints over a nullable marker column: the marker is TRUE on the
one row that holds the place and NULL everywhere else, and NULLs never collide in SQLite or
PostgreSQL. Two processes racing for the place both try the INSERT; the database lets one win.
"""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

M = TypeVar("M", bound=Model)


async def create_unless_taken(model: type[M], **values: Any) -> M | None:
    """Insert a row, or return None when a unique constraint refuses it.

    The INSERT runs in its own transaction, or in a savepoint when the caller is inside one: on
    PostgreSQL a failed statement aborts the whole transaction, and only a savepoint rolled
    back lets the caller go on (to read the row that won, for one).
    """
    try:
        async with in_transaction():
            return await model.create(**values)
    except IntegrityError:
        return None
