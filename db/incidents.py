"""Opening and closing an SOS, with the database keeping one open SOS per person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db.constraints import create_unless_taken
from db.enums import IncidentKind, IncidentStatus
from db.models import Incident

# A racer that lost finds the winner at once unless the winner was closed in between.
_ATTEMPTS = 3


async def open_sos(*, person_id: int, opened_at: datetime, **values: Any) -> tuple[Incident, bool]:
    """The person's open SOS: a new incident (True), or the one already open (False).

    An SOS pressed twice, sent from two devices or handled by two processes opens one
    incident: the unique (reported_by, open_sos_marker) constraint refuses the second INSERT,
    and its caller gets the first, which is the one every escalation already follows.
    """
    key = values.get("idempotency_key")
    for _ in range(_ATTEMPTS):
        existing = await Incident.get_or_none(reported_by_id=person_id, open_sos_marker=True)
        if existing is not None:
            return existing, False
        created = await create_unless_taken(
            Incident,
            kind=IncidentKind.SOS,
            status=IncidentStatus.OPEN,
            reported_by_id=person_id,
            opened_at=opened_at,
            open_sos_marker=True,
            **values,
        )
        if created is not None:
            return created, True
        if key is not None:
            # The same press seen again after its incident was closed: that incident.
            again = await Incident.get_or_none(idempotency_key=key)
            if again is not None:
                return again, False
    raise RuntimeError("an open SOS kept appearing and closing: giving up")


async def close_sos(
    incident_id: int, *, at: datetime, closed_by_id: int | None = None, note: str = ""
) -> bool:
    """Close an open SOS; False when it was not open. The person may raise a new one after."""
    changed = await Incident.filter(id=incident_id, open_sos_marker=True).update(
        status=IncidentStatus.CLOSED,
        open_sos_marker=None,
        closed_at=at,
        closed_by_id=closed_by_id,
        closing_note=note,
        next_escalation_at=None,
        updated_at=at,
    )
    return bool(changed)
