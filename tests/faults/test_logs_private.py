"""A realistic session logged at DEBUG: no line holds a phone number, a position, a name or a
message text."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time

import pytest

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import Role
from db.models import CheckIn, Person, Station
from i18n import language_name
from services.clock import ManualClock
from services.invites import create_invite
from tests.auxil.chat import text_of
from tests.e2e.conftest import outpost, sandbox  # noqa: F401 - fixtures

PHONE = "+2348031234567"
FIRST_NAME, LAST_NAME = "Oluwaseun", "Adebayo-Quist"
# Inside the station's fence, with digits no clock or id would produce.
LATITUDE, LONGITUDE = 6.428734, 3.421973
TEXT = "meet me behind the generator shed at nine"


def _secrets_in(message: str) -> list[str]:
    secrets = [
        PHONE,
        PHONE.lstrip("+"),
        "8031234567",
        FIRST_NAME,
        LAST_NAME,
        TEXT,
        "generator shed",
        str(LATITUDE),
        str(LONGITUDE),
        "6.4287",
        "3.4219",
    ]
    return [secret for secret in secrets if secret in message]


async def test_a_session_leaves_no_personal_data_in_the_log(
    outpost: Outpost,  # noqa: F811
    sandbox: SandboxServer,  # noqa: F811
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Registration with a phone number, a check-in with a location, a free text."""
    caplog.set_level(logging.DEBUG)
    clock.set(datetime(2026, 1, 5, 7, 40, tzinfo=UTC))
    await Station.create(
        code="LOS",
        name="Lagos service station",
        country="NG",
        city="Lagos",
        lat=6.4281,
        lon=3.4219,
        radius_m=300,
        timezone="Africa/Lagos",
        checkin_opens=time(8),
        checkin_closes=time(9, 30),
        workday_ends=time(17),
    )
    invite = await create_invite(role=Role.STAFF, station_code="LOS", clock=clock)
    newcomer = sandbox.add_person(7102, FIRST_NAME, "en", last_name=LAST_NAME, phone_number=PHONE)
    newcomer.send_command("start", invite.code)
    await newcomer.wait_for_message()  # welcome
    await newcomer.wait_for_message()  # the phone question
    newcomer.press("Share my phone number")
    await newcomer.wait_for_message()  # saved
    choose = await newcomer.wait_for_message()
    await newcomer.press(language_name("en"), choose).wait_answer()
    await newcomer.wait_for_message()  # registered
    assert (await Person.get(telegram_id=7102)).phone == PHONE

    newcomer.share_location(LATITUDE, LONGITUDE, horizontal_accuracy=12)
    assert "Checked in" in text_of(await newcomer.wait_for_message())
    assert await CheckIn.all().count() == 1
    newcomer.send_text(TEXT)
    newcomer.send_command("help")
    await newcomer.wait_for_message(lambda m: "/checkin" in text_of(m))

    assert logging.getLogger("bot.ordering").isEnabledFor(logging.DEBUG)
    ours = [r for r in caplog.records if not r.name.startswith("bot.sandbox")]
    leaks = [
        (r.name, found) for r in ours for found in _secrets_in(r.getMessage() + str(r.exc_text))
    ]
    assert leaks == []
