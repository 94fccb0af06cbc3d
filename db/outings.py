"""Opening and closing an outing, with the database keeping one open outing per person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db.constraints import create_unless_taken
from db.enums import OutingStatus
from db.models import Outing

OPEN_STATUSES = frozenset({OutingStatus.PENDING, OutingStatus.APPROVED, OutingStatus.OUT})
CLOSED_STATUSES = frozenset({OutingStatus.REFUSED, OutingStatus.RETURNED, OutingStatus.CANCELLED})
# A racer that lost finds the winner at once unless the winner was closed in between.
_ATTEMPTS = 3


async def open_outing(
    *,
    person_id: int,
    expected_return_at: datetime,
    destination: str,
    status: OutingStatus = OutingStatus.PENDING,
    **values: Any,
) -> tuple[Outing, bool]:
    """The person's open outing: a new one (True), or the one already open (False).

    Two requests at once (a double tap, two processes) make one outing: the unique
    (person, open_marker) constraint refuses the second INSERT, and its caller gets the first.
    """
    if status not in OPEN_STATUSES:
        raise ValueError(f"an outing opens as pending, approved or out, not {status}")
    for _ in range(_ATTEMPTS):
        existing = await Outing.get_or_none(person_id=person_id, open_marker=True)
        if existing is not None:
            return existing, False
        created = await create_unless_taken(
            Outing,
            person_id=person_id,
            expected_return_at=expected_return_at,
            destination=destination,
            status=status,
            open_marker=True,
            **values,
        )
        if created is not None:
            return created, True
    raise RuntimeError("an open outing kept appearing and closing: giving up")


async def close_outing(
    outing_id: int, *, status: OutingStatus, at: datetime, **values: Any
) -> bool:
    """Close an open outing as returned, refused or cancelled; False when it was not open.

    A conditional UPDATE on the marker: of two callers closing at once, one closes it. The
    person may open the next outing as soon as this returns.
    """
    if status not in CLOSED_STATUSES:
        raise ValueError(f"an outing closes as refused, returned or cancelled, not {status}")
    if status == OutingStatus.RETURNED:
        values.setdefault("returned_at", at)
    changed = await Outing.filter(id=outing_id, open_marker=True).update(
        status=status, open_marker=None, next_escalation_at=None, updated_at=at, **values
    )
    return bool(changed)
