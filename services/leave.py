"""Leave (请假): asked by a person, decided by the station head; a head's own leave by HQ."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from db.enums import Lane, RequestStatus, Role
from db.models import AuditLog, LeaveRequest, Person, PersonRole
from i18n import count_days, format_day, translate
from services.attendance import heads_of
from services.callbacks import LeaveVerdict, encode
from services.clock import Clock
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.notify import edit, messages_to_edit, notify
from services.people import Actor, badge, station_today
from services.validation import free_text, row_id

MAX_LEAVE_DAYS = 90
# The furthest in the past a leave may start: a day missed yesterday can still be explained.
MAX_BACKDATE = timedelta(days=7)
# The furthest ahead a leave may start.
MAX_AHEAD = timedelta(days=366)
# The longest reason kept; a longer one is refused with the limit, never cut.
MAX_REASON = 1000
DATE = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})$")


@dataclass(frozen=True)
class LeaveDecision:
    """A decided leave request and who decided it."""

    leave: LeaveRequest
    approved: bool


async def _deciders(person: Person, roles: frozenset[Role]) -> list[Person]:
    """Who decides this person's leave: the station's heads, or HQ for a head."""
    if Role.HEAD in roles or person.station_id is None:
        grants = await PersonRole.filter(
            role=Role.HQ, person__active=True, person__registration_step__isnull=True
        ).prefetch_related("person")
        return [grant.person for grant in grants if grant.person.id != person.id]
    return [head for head in await heads_of(person.station_id) if head.id != person.id]


def leave_dates(language: str | None, start: date, end: date) -> str:
    """A leave's days as the reader writes them: one day, or "first to last"."""
    first = format_day(language, start, year=True)
    if end == start:
        return first
    return translate(
        language, "leave.dates", start=first, end=format_day(language, end, year=True)
    )


def parse_day(text: str, today: date) -> date | None:
    """2026-12-01, or 12-01: this year's, unless that is further back than a leave may start
    (then next year's), so `/leave 03-04` on 5 March explains yesterday."""
    match = DATE.match(text.strip())
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        parsed = date(int(year or today.year), int(month), int(day))
    except ValueError:
        return None
    if year is None and parsed < today - MAX_BACKDATE:
        try:
            parsed = parsed.replace(year=today.year + 1)
        except ValueError:  # 29 February
            return None
    return parsed


def check_reason(reason: str) -> str:
    """The reason, trimmed; refused when empty or longer than the limit (never cut)."""
    reason = free_text(reason).strip()
    if not reason:
        raise InvalidInput("no reason", msgid="leave.no_reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            "reason too long", msgid="leave.reason_too_long", limit=MAX_REASON, length=len(reason)
        )
    return reason


async def check_start(actor: Actor, start: date, clock: Clock) -> None:
    """Refuse a first day further back than a leave may start, or further ahead than a leave
    is planned (a year 9999 is a typing slip, not a plan)."""
    today = await station_today(actor, clock)
    if start < today - MAX_BACKDATE:
        raise InvalidInput("too far back", msgid="leave.too_old", days=MAX_BACKDATE.days)
    if start > today + MAX_AHEAD:
        raise InvalidInput("too far ahead", msgid="leave.too_far_ahead", days=MAX_AHEAD.days)


async def check_days(actor: Actor, start: date, end: date) -> None:
    """Refuse an end before the start, a leave over the limit, or one that overlaps another
    pending or approved leave of the same person."""
    if end < start:
        raise InvalidInput("end before start", msgid="leave.bad_order")
    if (end - start).days + 1 > MAX_LEAVE_DAYS:
        raise InvalidInput("too long", msgid="leave.too_long", days=MAX_LEAVE_DAYS)
    overlapping = await LeaveRequest.filter(
        person_id=actor.person.id,
        status__in=[RequestStatus.PENDING, RequestStatus.APPROVED],
        start_date__lte=end,
        end_date__gte=start,
    ).exists()
    if overlapping:
        raise InvalidInput("overlap", msgid="leave.overlaps")


async def request_leave(
    *, actor: Actor, start: date, end: date, reason: str, clock: Clock
) -> LeaveRequest:
    """File a leave request and ask the deciders, each with approve and refuse buttons."""
    reason = check_reason(reason)
    await check_start(actor, start, clock)
    await check_days(actor, start, end)
    person = actor.person
    deciders = await _deciders(person, actor.roles)
    if not deciders:
        raise InvalidInput("nobody to decide", msgid="leave.no_decider")
    async with in_transaction():
        leave = await LeaveRequest.create(
            person_id=person.id,
            station_id=person.station_id,
            start_date=start,
            end_date=end,
            reason=reason,
        )
        for decider in deciders:
            await notify(
                recipient=decider,
                msgid="leave.ask_decider",
                params={
                    "name": person.name,
                    # Role and station from the database, in the decider's language.
                    "badge": await badge(person, decider.language),
                    "dates": leave_dates(decider.language, start, end),
                    "days": count_days(decider.language, (end - start).days + 1),
                    "reason": leave.reason,
                },
                buttons=[
                    [
                        {
                            "text": "button.approve",
                            "callback_data": encode(LeaveVerdict(leave.id, approve=True)),
                        },
                        {
                            "text": "button.refuse",
                            "callback_data": encode(LeaveVerdict(leave.id, approve=False)),
                        },
                    ]
                ],
                lane=Lane.APPROVAL,
                idempotency_key=f"leave-ask:{leave.id}:{decider.id}",
                source_kind="leave",
                source_id=leave.id,
                clock=clock,
            )
    return leave


async def _edit_cards(
    leave: LeaveRequest, *, msgid: str, by: str, clock: Clock, skip_person_id: int | None = None
) -> None:
    """Every decider's card (but `skip_person_id`'s) is rewritten with `msgid` (who decided,
    or that it was withdrawn) and loses its buttons."""
    for card in await messages_to_edit("leave", leave.id, msgid="leave.ask_decider"):
        if card.recipient_id == skip_person_id:  # type: ignore[attr-defined]
            continue
        await edit(
            original=card,
            msgid=msgid,
            # Cards written before `badge` and `dates` existed are still edited whole.
            params={
                "badge": "",
                "dates": f"{card.params.get('start')} – {card.params.get('end')}",
                **card.params,
                "by": by,
            },
            idempotency_key=f"leave-card:{msgid}:{card.id}",
            clock=clock,
        )


async def withdrawn_cards(leave: LeaveRequest, *, by: str, clock: Clock) -> None:
    """Every decider's card of a leave no longer pending (withdrawn, or cancelled by a
    handover) says it was withdrawn and loses its buttons."""
    await _edit_cards(leave, msgid="leave.card_withdrawn", by=by, clock=clock)


async def may_decide(actor: Actor, leave: LeaveRequest) -> bool:
    """True when the actor decides this leave: head of its station, or HQ for a head's own."""
    if actor.person.id == leave.person_id:
        return False
    requester_is_head = await PersonRole.filter(person_id=leave.person_id, role=Role.HEAD).exists()
    if requester_is_head or leave.station_id is None:
        return actor.has(Role.HQ)
    return actor.has(Role.HEAD) and (actor.person.station_id == leave.station_id)


async def pending_for_decider(actor: Actor, leave_id: int) -> LeaveRequest:
    """The pending leave `leave_id` when the actor decides it (before asking a refusal's
    reason): NotFound, NotAllowed, or Conflict when it is no longer pending."""
    leave = await LeaveRequest.get_or_none(id=row_id(leave_id))
    if leave is None:
        raise NotFound("no such leave")
    if not await may_decide(actor, leave):
        raise NotAllowed("not the decider")
    if leave.status != RequestStatus.PENDING:
        msgid = (
            "leave.withdrawn_already"
            if leave.status == RequestStatus.CANCELLED
            else ("leave.already_decided")
        )
        raise Conflict("not pending", msgid=msgid)
    return leave


def check_refusal_note(note: str) -> str:
    """A refusal's reason, trimmed (may be empty); refused when over the limit, never cut."""
    note = free_text(note).strip()
    if len(note) > MAX_REASON:
        raise InvalidInput(
            "note too long", msgid="leave.reason_too_long", limit=MAX_REASON, length=len(note)
        )
    return note


async def decide_leave(
    *,
    actor: Actor,
    leave_id: int,
    approve: bool,
    clock: Clock,
    note: str = "",
    edit_own_card: bool = False,
) -> LeaveDecision:
    """Approve or refuse a pending leave; only its decider may, and only once. A refusal's
    `note` (its reason) is told to the requester. The decider's own card is changed by the
    handler that took the press, unless `edit_own_card` (a refusal finished in a flow)."""
    leave = await LeaveRequest.get_or_none(id=row_id(leave_id))
    if leave is None:
        raise NotFound("no such leave")
    if not await may_decide(actor, leave):
        raise NotAllowed("not the decider")
    note = check_refusal_note(note) if not approve else ""
    status = RequestStatus.APPROVED if approve else RequestStatus.REFUSED
    now = clock.now()
    async with in_transaction():
        # The status test makes two heads pressing at once decide it once.
        changed = await LeaveRequest.filter(id=leave.id, status=RequestStatus.PENDING).update(
            status=status, decided_by_id=actor.person.id, decided_at=now, decision_note=note
        )
        if not changed:
            current = await LeaveRequest.get(id=leave.id)
            if current.status == RequestStatus.CANCELLED:
                raise Conflict("withdrawn", msgid="leave.withdrawn_already")
            raise Conflict("already decided", msgid="leave.already_decided")
        await AuditLog.create(
            at=now,
            actor_id=actor.person.id,
            action=f"leave.{status.value}",
            object_kind="leave",
            object_id=leave.id,
        )
        requester = await Person.get(id=leave.person_id)
        if approve:
            told = "leave.approved"
        else:
            told = "leave.refused_because" if note else "leave.refused"
        await notify(
            recipient=requester,
            msgid=told,
            params={
                "dates": leave_dates(requester.language, leave.start_date, leave.end_date),
                "by": actor.person.name,
                "note": note,
            },
            lane=Lane.APPROVAL,
            idempotency_key=f"leave-decided:{leave.id}",
            source_kind="leave",
            source_id=leave.id,
            clock=clock,
        )
        await _edit_cards(
            leave,
            msgid="leave.card_approved_by" if approve else "leave.card_refused_by",
            by=actor.person.name,
            clock=clock,
            skip_person_id=None if edit_own_card else actor.person.id,
        )
    await leave.refresh_from_db()
    return LeaveDecision(leave=leave, approved=approve)


# How far back /leave lists a person's requests that are no longer pending.
RECENT = timedelta(days=60)
MAX_LISTED = 10


async def my_requests(*, actor: Actor, clock: Clock) -> list[LeaveRequest]:
    """The actor's own requests: every pending one, and those decided or withdrawn that end
    within the last RECENT days; the latest first, at most MAX_LISTED."""
    today = await station_today(actor, clock)
    pending = await LeaveRequest.filter(
        person_id=actor.person.id, status=RequestStatus.PENDING
    ).order_by("-start_date", "-id")
    others = (
        await LeaveRequest.filter(
            person_id=actor.person.id,
            end_date__gte=today - RECENT,
            status__in=[RequestStatus.APPROVED, RequestStatus.REFUSED, RequestStatus.CANCELLED],
        )
        .order_by("-start_date", "-id")
        .limit(MAX_LISTED)
    )
    return [*pending, *others][: max(MAX_LISTED, len(pending))]


async def withdraw_leave(*, actor: Actor, leave_id: int, clock: Clock) -> LeaveRequest:
    """The requester withdraws their own pending leave; the deciders' cards say so and lose
    their buttons. Once decided, it can no longer be withdrawn here."""
    leave = await LeaveRequest.get_or_none(id=row_id(leave_id))
    if leave is None:
        raise NotFound("no such leave")
    if leave.person_id != actor.person.id:
        raise NotAllowed("not their own leave")
    now = clock.now()
    async with in_transaction():
        changed = await LeaveRequest.filter(id=leave.id, status=RequestStatus.PENDING).update(
            status=RequestStatus.CANCELLED, decided_at=now, decision_note="withdrawn"
        )
        if not changed:
            current = await LeaveRequest.get(id=leave.id)
            if current.status == RequestStatus.CANCELLED:
                raise Conflict("already withdrawn", msgid="leave.withdrawn_already")
            raise Conflict("already decided", msgid="leave.withdraw_too_late")
        await AuditLog.create(
            at=now,
            actor_id=actor.person.id,
            action="leave.withdrawn",
            object_kind="leave",
            object_id=leave.id,
        )
        await _edit_cards(leave, msgid="leave.card_withdrawn", by=actor.person.name, clock=clock)
    await leave.refresh_from_db()
    return leave
