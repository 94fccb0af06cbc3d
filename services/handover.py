"""Leaving a post (工作移交): deactivate a person and hand their open items to a successor."""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from db.enums import ExpenseStatus, OutingStatus, ReportStatus, RequestStatus, Role
from db.models import (
    AuditLog,
    DutyRoster,
    Expense,
    LeaveRequest,
    Outing,
    Person,
    PersonRole,
    Station,
    WeeklyPlan,
)
from services.clock import Clock, SystemClock
from services.deadlines import schedule
from services.errors import Conflict, InvalidInput, NotFound
from services.leave import withdrawn_cards

OPEN_OUTINGS = (OutingStatus.PENDING, OutingStatus.APPROVED, OutingStatus.OUT)
OPEN_PLANS = (ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.RETURNED)


@dataclass
class HandoverSummary:
    """What a deactivation moved, cancelled and left, for the operator and the audit log."""

    person: str
    successor: str
    moved: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    head_of: str | None = None
    awaiting_successor: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The summary as lines for a terminal."""
        out = [f"deactivated {self.person}; open items handed to {self.successor}"]
        for title, counts in (
            ("moved to the successor", self.moved),
            ("cancelled", self.cancelled),
            ("kept with the person (to settle)", self.kept),
        ):
            for name, count in counts.items():
                out.append(f"  {title}: {count} {name}")
        if self.head_of is not None:
            out.append(f"  {self.successor} is now head of station {self.head_of}")
            for name, count in self.awaiting_successor.items():
                out.append(f"  awaiting the new head's decision: {count} {name}")
        return out


async def _person(telegram_id: int, what: str) -> Person:
    person = await Person.get_or_none(telegram_id=telegram_id).prefetch_related("roles")
    if person is None:
        raise NotFound(f"no {what} with Telegram id {telegram_id}")
    return person


async def deactivate(
    *,
    telegram_id: int,
    successor_telegram_id: int,
    force: bool = False,
    clock: Clock | None = None,
) -> HandoverSummary:
    """Deactivate a person and move their open items to the successor, in one transaction.

    Moved: their open outings (pending, approved, out), their weekly plans not yet approved,
    their future duty days; a head's role at their station. Cancelled: their own pending leave.
    Kept: their own expense claims (they are reimbursed to them). The successor must be active,
    registered and at the same station, unless `force`.
    """
    now = (clock or SystemClock()).now()
    person = await _person(telegram_id, "person")
    successor = await _person(successor_telegram_id, "successor")
    if not person.active:
        raise Conflict(f"person {telegram_id} is already deactivated")
    if successor.id == person.id:
        raise InvalidInput("a person cannot hand over to themselves")
    if not successor.active or successor.registration_step is not None:
        raise InvalidInput(
            f"successor {successor_telegram_id} is not an active, registered person"
        )
    station_id = person.station_id
    if successor.station_id != station_id and not force:
        raise InvalidInput(
            f"successor {successor_telegram_id} is at another station (use --force to allow)"
        )
    summary = HandoverSummary(person=person.name, successor=successor.name)
    async with in_transaction():
        summary.moved["open outings"] = await Outing.filter(
            person=person, status__in=OPEN_OUTINGS
        ).update(person_id=successor.id)
        summary.moved["weekly plans"] = await _move_plans(person, successor)
        summary.moved["duty days"] = await DutyRoster.filter(
            person=person, date__gte=now.date()
        ).update(person_id=successor.id)
        pending_leave = await LeaveRequest.filter(person=person, status=RequestStatus.PENDING)
        summary.cancelled["leave requests"] = await LeaveRequest.filter(
            id__in=[leave.id for leave in pending_leave], status=RequestStatus.PENDING
        ).update(status=RequestStatus.CANCELLED, decision_note="handover")
        for leave in pending_leave:  # the deciders' cards say so and lose their buttons
            await withdrawn_cards(leave, by=person.name, clock=clock or SystemClock())
        summary.kept["open expense claims"] = await Expense.filter(
            person=person, status__in=(ExpenseStatus.DRAFT, ExpenseStatus.SUBMITTED)
        ).count()
        head = next((g for g in person.roles if Role(g.role) == Role.HEAD), None)
        if head is not None and station_id is not None:
            await _make_head(successor, station_id, deputy=head.deputy, now=now, by=person)
            station = await Station.get(id=station_id)
            summary.head_of = station.code
            summary.awaiting_successor = await _pending_at(station_id)
        person.active = False
        person.deactivated_at = now
        person.handed_over_to = successor
        await person.save(
            update_fields=["active", "deactivated_at", "handed_over_to_id", "updated_at"]
        )
        await AuditLog.create(
            at=now,
            actor=None,
            action="person.deactivated",
            object_kind="person",
            object_id=person.id,
            data={
                "successor_id": successor.id,
                "moved": summary.moved,
                "cancelled": summary.cancelled,
                "kept": summary.kept,
                "head_of": summary.head_of,
                "forced": force,
            },
        )
        await AuditLog.create(
            at=now,
            actor=None,
            action="person.handover_received",
            object_kind="person",
            object_id=successor.id,
            data={"from_id": person.id, "moved": summary.moved},
        )
        # The running bot (another process) publishes both menus at its next look at the
        # deadlines, within seconds: the person's shrinks, the successor's may grow.
        for account in (person, successor):
            await schedule(
                MENU_REFRESH, str(account.telegram_id), now, {"telegram_id": account.telegram_id}
            )
    return summary


# A deadline whose handler publishes one account's command menu now (bot/app.py wires it to
# the menu publisher).
MENU_REFRESH = "menu.refresh"


async def _move_plans(person: Person, successor: Person) -> int:
    taken = set(await WeeklyPlan.filter(person=successor).values_list("week_start", flat=True))
    moved = 0
    for plan in await WeeklyPlan.filter(person=person, status__in=OPEN_PLANS):
        if plan.week_start in taken:
            continue  # the successor has their own plan for that week; this one stays
        await WeeklyPlan.filter(id=plan.id).update(person_id=successor.id)
        moved += 1
    return moved


async def _make_head(
    successor: Person, station_id: int, *, deputy: bool, now: object, by: Person
) -> None:
    if successor.station_id != station_id:
        await Person.filter(id=successor.id).update(station_id=station_id)
    grant = await PersonRole.get_or_none(person=successor, role=Role.HEAD)
    if grant is None:
        await PersonRole.create(person=successor, role=Role.HEAD, deputy=deputy)
        await AuditLog.create(
            at=now,
            actor=None,
            action="role.granted",
            object_kind="person",
            object_id=successor.id,
            data={"role": str(Role.HEAD), "by": "handover", "from_id": by.id},
        )
    elif grant.deputy and not deputy:
        await PersonRole.filter(id=grant.id).update(deputy=False)


async def _pending_at(station_id: int) -> dict[str, int]:
    return {
        "outing requests": await Outing.filter(
            station_id=station_id, status=OutingStatus.PENDING
        ).count(),
        "leave requests": await LeaveRequest.filter(
            station_id=station_id, status=RequestStatus.PENDING
        ).count(),
        "expense claims": await Expense.filter(
            station_id=station_id, status=ExpenseStatus.SUBMITTED
        ).count(),
        "weekly plans": await WeeklyPlan.filter(
            station_id=station_id, status=ReportStatus.SUBMITTED
        ).count(),
    }
