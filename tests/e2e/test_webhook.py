"""Updates by webhook go through the inbox like polled ones: stored, then one person's in
order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Any

import aiohttp

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import CheckInKind, InboxStatus, Role
from db.models import CheckIn, InboundUpdate, Person, PersonRole, Station
from handlers.web.webhook import SECRET_HEADER, WEBHOOK_PATH
from services.clock import ManualClock
from tests.auxil.chat import text_of
from tests.e2e.conftest import free_port, outpost_settings

LAGOS = (6.4281, 3.4219)
SECRET = "e2e-pins-secret"


async def _webhook_outpost(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> Outpost:
    port = free_port()
    settings = outpost_settings(
        sandbox,
        database_url,
        webhook=True,
        web_port=port,
        public_url=f"http://127.0.0.1:{port}",
        webhook_secret=SECRET,
    )
    app = Outpost(settings, clock=clock, ticking=False)
    await app.start()
    return app


async def _staff(telegram_id: int) -> None:
    station = await Station.create(
        code="LOS",
        name="Lagos station",
        country="NG",
        lat=LAGOS[0],
        lon=LAGOS[1],
        radius_m=300,
        timezone="Africa/Lagos",
        checkin_opens=time(8),
        checkin_closes=time(9, 30),
        workday_ends=time(17),
    )
    person = await Person.create(
        telegram_id=telegram_id,
        name="Amina",
        language="en",
        station=station,
        created_at=datetime(2025, 12, 1, tzinfo=UTC),
    )
    await PersonRole.create(person=person, role=Role.STAFF)


def _pin(update_id: int, user_id: int, clock: ManualClock) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(clock.now().timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": "Amina"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Amina"},
            "location": {"latitude": 6.4285, "longitude": 3.4219, "horizontal_accuracy": 10},
        },
    }


async def test_two_pins_sent_at_once_make_one_first_check_in(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> None:
    """Telegram posts two updates of one person on two connections at the same moment: both
    are stored, handled one after the other, and the second finds the first check-in."""
    clock.set(datetime(2026, 1, 5, 7, 40, tzinfo=UTC))
    app = await _webhook_outpost(sandbox, database_url, clock)
    try:
        await _staff(3101)
        amina = sandbox.add_person(3101, "Amina", "en")
        url, headers = f"{app.web_url}{WEBHOOK_PATH}", {SECRET_HEADER: SECRET}
        async with aiohttp.ClientSession() as http:

            async def post(update: dict[str, Any]) -> int:
                async with http.post(url, json=update, headers=headers) as response:
                    return response.status

            statuses = await asyncio.gather(
                post(_pin(9001, 3101, clock)), post(_pin(9002, 3101, clock))
            )
        assert statuses == [200, 200]
        first = await amina.wait_for_message()
        second = await amina.wait_for_message()
        assert text_of(first).startswith("✅ Checked in at 08:40")
        assert "already" in text_of(second).lower()
        assert await CheckIn.filter(kind=CheckInKind.IN).count() == 1
        handled = await InboundUpdate.filter(status=InboxStatus.HANDLED)
        assert sorted(row.update_id for row in handled) == [9001, 9002]
    finally:
        await app.stop()


async def test_pins_through_the_sandbox_webhook_make_one_first_check_in(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> None:
    """The same with the sandbox delivering the webhook, as Telegram does."""
    clock.set(datetime(2026, 1, 5, 7, 40, tzinfo=UTC))
    app = await _webhook_outpost(sandbox, database_url, clock)
    try:
        await _staff(3102)
        amina = sandbox.add_person(3102, "Amina", "en")
        amina.share_location(6.4285, 3.4219, horizontal_accuracy=10)
        amina.share_location(6.4285, 3.4219, horizontal_accuracy=10)
        assert text_of(await amina.wait_for_message()).startswith("✅ Checked in")
        assert "already" in text_of(await amina.wait_for_message()).lower()
        assert await CheckIn.filter(kind=CheckInKind.IN).count() == 1
    finally:
        await app.stop()
