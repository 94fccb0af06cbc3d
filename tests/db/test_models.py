"""Every table takes a row and gives it back unchanged, times in UTC, on each database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from db import models
from db.enums import (
    AlertReply,
    AlertScope,
    Channel,
    CheckInKind,
    ContactKind,
    DeadlineStatus,
    DeliveryStatus,
    ExpenseStatus,
    InboxStatus,
    IncidentKind,
    Lane,
    OutingStatus,
    RequestStatus,
    Role,
)

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


async def _world() -> dict[str, Model]:
    station = await models.Station.create(
        code="LOS",
        name="Lagos service station",
        country="NG",
        city="Lagos",
        lat=6.4281,
        lon=3.4219,
        radius_m=300,
        timezone="Africa/Lagos",
        checkin_opens=time(8, 0),
        checkin_closes=time(9, 30),
    )
    person = await models.Person.create(
        telegram_id=9_007_199_254_740_993,
        name="王磊",
        phone="+2348000000001",
        language="zh-Hans",
        station=station,
    )
    head = await models.Person.create(telegram_id=100002, name="Head", station=station)
    return {"station": station, "person": person, "head": head}


def _rows(w: dict[str, Any]) -> list[tuple[type[Model], dict[str, Any]]]:
    st, p, h = w["station"], w["person"], w["head"]
    return [
        (models.PersonRole, {"person": h, "role": Role.HEAD, "deputy": True}),
        (
            models.Invite,
            {
                "code": "abc123",
                "role": Role.STAFF,
                "station": st,
                "created_by": h,
                "expires_at": T0 + timedelta(days=7),
            },
        ),
        (
            models.Contact,
            {
                "country": "NG",
                "kind": ContactKind.EMBASSY,
                "name": "Embassy",
                "phone": "+23490000000",
                "email": "c@example.org",
                "lat": 9.07,
                "lon": 7.39,
            },
        ),
        (models.Holiday, {"station": st, "date": date(2026, 10, 1), "name": "Independence"}),
        (
            models.CheckIn,
            {
                "person": p,
                "station": st,
                "kind": CheckInKind.IN,
                "at": T0,
                "local_date": date(2026, 3, 29),
                "lat": 6.43,
                "lon": 3.42,
                "accuracy_m": 12.5,
                "distance_m": 40.0,
                "inside_geofence": True,
            },
        ),
        (
            models.LeaveRequest,
            {
                "person": p,
                "station": st,
                "start_date": date(2026, 4, 1),
                "end_date": date(2026, 4, 3),
                "reason": "家事",
                "status": RequestStatus.APPROVED,
                "decided_by": h,
                "decided_at": T0,
            },
        ),
        (models.DutyRoster, {"station": st, "date": date(2026, 4, 4), "person": p, "set_by": h}),
        (
            models.Outing,
            {
                "person": p,
                "station": st,
                "destination": "Customer site",
                "status": OutingStatus.OUT,
                "expected_return_at": T0,
                "next_escalation_at": T0 + timedelta(minutes=15),
            },
        ),
        (
            models.Incident,
            {
                "kind": IncidentKind.SOS,
                "reported_by": p,
                "station": st,
                "country": "NG",
                "opened_at": T0,
                "lat": 6.4,
                "lon": 3.4,
                "idempotency_key": "sos:1",
            },
        ),
        (
            models.Alert,
            {
                "created_by": h,
                "scope": AlertScope.COUNTRY,
                "scope_value": "NG",
                "title": "Unrest downtown",
                "body": "Stay indoors.",
            },
        ),
        (
            models.DailyReport,
            {
                "person": p,
                "station": st,
                "date": date(2026, 3, 28),
                "content": "Two machines serviced.",
                "major": False,
            },
        ),
        (
            models.WeeklyPlan,
            {
                "person": p,
                "station": st,
                "week_start": date(2026, 3, 30),
                "content": "Visit three customers.",
            },
        ),
        (
            models.Expense,
            {
                "person": p,
                "station": st,
                "category": "taxi",
                "amount": Decimal("1234.50"),
                "currency": "NGN",
                "spent_on": date(2026, 3, 28),
                "reason": "to customer",
                "status": ExpenseStatus.SUBMITTED,
            },
        ),
        (
            models.Budget,
            {
                "station": st,
                "month": date(2026, 4, 1),
                "category": "taxi",
                "amount": Decimal("500000.00"),
                "currency": "NGN",
            },
        ),
        (
            models.ExchangeRate,
            {
                "currency": "NGN",
                "base_currency": "CNY",
                "rate": Decimal("0.00461234"),
                "valid_on": date(2026, 3, 1),
            },
        ),
        (
            models.OutboxMessage,
            {
                "lane": Lane.EMERGENCY,
                "channel": Channel.TELEGRAM,
                "recipient": h,
                "address": "100002",
                "msgid": "sos.raised",
                "params": {"name": "王磊"},
                "idempotency_key": "sos:1:100002",
                "next_attempt_at": T0,
                "status": DeliveryStatus.PENDING,
            },
        ),
        (
            models.AuditLog,
            {
                "at": T0,
                "actor": h,
                "action": "outing.approve",
                "object_kind": "outing",
                "object_id": 1,
                "data": {"k": [1, 2]},
            },
        ),
        (
            models.Deadline,
            {
                "kind": "station_day",
                "key": "1",
                "due_at": T0,
                "payload": {"day_of_month": 26},
                "status": DeadlineStatus.CLAIMED,
                "claimed_by": "host:1:ab",
                "lease_until": T0,
            },
        ),
        (
            models.InboundUpdate,
            {
                "bot_id": 1,
                "update_id": 2**40,
                "sender_id": 2**40,
                "received_at": T0,
                "payload": {"update_id": 2**40},
                "status": InboxStatus.HANDLED,
                "handled_at": T0,
            },
        ),
    ]


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Model):
        return actual == expected.pk
    return bool(expected == actual)


async def test_every_table_round_trips(db: str) -> None:
    """Each model is written and read back field for field."""
    world = await _world()
    written = {type(m) for m in world.values()}
    for model, values in _rows(world):
        row = await model.create(**values)
        fetched = await model.get(pk=row.pk)
        for field, value in values.items():
            stored = (
                getattr(fetched, f"{field}_id")
                if isinstance(value, Model)
                else getattr(fetched, field)
            )
            assert _same(value, stored), (model.__name__, field, value, stored)
        written.add(model)
    # Tables that hang off others.
    incident = await models.Incident.get(idempotency_key="sos:1")
    await models.IncidentEvent.create(incident=incident, at=T0, kind="opened", data={"a": 1})
    alert = await models.Alert.first()
    assert alert is not None
    delivery = await models.AlertDelivery.create(
        alert=alert, person=world["person"], delivered_at=T0, answer=AlertReply.SAFE
    )
    answer = await models.AlertAnswer.create(
        delivery=delivery, answer=AlertReply.SAFE, answered_at=T0
    )
    assert (await models.AlertAnswer.get(id=answer.id)).answer == AlertReply.SAFE
    expense = await models.Expense.first()
    assert expense is not None
    await models.ExpensePhoto.create(expense=expense, path="receipts/1.jpg", sha256="0" * 64)
    message = await models.OutboxMessage.first()
    assert message is not None
    await models.DeliveryAttempt.create(message=message, at=T0, outcome="sent", http_status=200)
    sheet = await models.OutboxAttachment.create(
        file_name="a.xlsx", mime_type="application/octet-stream", data=b"\x00PK\xff" * 1000
    )
    assert (await models.OutboxAttachment.get(id=sheet.id)).data == b"\x00PK\xff" * 1000
    talk = await models.Conversation.create(
        telegram_id=424242,
        person=world["person"],
        flow="leave",
        step="end",
        answers={"start": "2026-01-06", "_trail": ["start"]},
        started_at=T0,
        updated_at=T0,
        expires_at=T0,
    )
    fetched_talk = await models.Conversation.get(id=talk.id)
    assert (fetched_talk.person_id, fetched_talk.answers, fetched_talk.expires_at) == (
        world["person"].pk,
        {"start": "2026-01-06", "_trail": ["start"]},
        T0,
    )
    await models.SecurityReport.create(
        person=world["person"], created_at=T0, text="Roadblock", lat=6.4, lon=3.4, alert=alert
    )
    written |= {
        models.IncidentEvent,
        models.AlertDelivery,
        models.AlertAnswer,
        models.SecurityReport,
        models.ExpensePhoto,
        models.DeliveryAttempt,
        models.OutboxAttachment,
        models.Conversation,
    }
    assert {getattr(models, name) for name in models.__all__} == written


async def test_times_come_back_timezone_aware_utc(db: str) -> None:
    """A time written in another zone is stored and returned as the same UTC instant."""
    world = await _world()
    from zoneinfo import ZoneInfo

    lagos = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Africa/Lagos"))
    outing = await models.Outing.create(
        person=world["person"], destination="x", expected_return_at=lagos
    )
    fetched = await models.Outing.get(pk=outing.pk)
    assert fetched.expected_return_at == T0
    assert fetched.expected_return_at.utcoffset() == timedelta(0)
    assert fetched.created_at.tzinfo is not None


async def test_unique_keys_hold(db: str) -> None:
    """Keys the importer and the outbox rely on are enforced by the database."""
    world = await _world()
    person = world["person"]
    assert isinstance(person, models.Person)
    with pytest.raises(IntegrityError):
        await models.Person.create(telegram_id=person.telegram_id, name="Twin")
    await models.OutboxMessage.create(
        lane=Lane.ROUTINE, address="1", msgid="m", idempotency_key="k", next_attempt_at=T0
    )
    with pytest.raises(IntegrityError):
        await models.OutboxMessage.create(
            lane=Lane.ROUTINE, address="1", msgid="m", idempotency_key="k", next_attempt_at=T0
        )
