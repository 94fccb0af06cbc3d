"""Hostile command arguments and ids, through the real bot: each gets a clear answer, and no
handler raises (a traceback would reach the log and leave the person without an answer)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import RequestStatus, Role
from db.models import LeaveRequest
from services.clock import ManualClock
from tests.auxil.chat import text_of
from tests.auxil.factories import make_person, make_station

HUGE_IDS = (2**31, 2**63, 2**64 + 5)


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test when anything is logged at ERROR (the error handler's traceback)."""
    yield
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


async def test_attendance_months_out_of_range(
    outpost: Outpost, sandbox: SandboxServer, no_errors_logged: None
) -> None:
    """Year 9999 and year 1 name the months a sheet covers; month 00 and 13 get the usage."""
    station = await make_station()
    await make_person(8001, station, Role.HEAD)
    head = sandbox.add_person(8001, "Head", "en")
    for month in ("9999-12", "0001-01"):
        head.send_command("attendance", month)
        answer = await head.wait_for_message()
        assert answer.document is None
        assert "from 2000-01 to 2099-12" in text_of(answer)
    for month in ("2026-00", "2026-13", "2026-1-1"):
        head.send_command("attendance", month)
        answer = await head.wait_for_message()
        assert answer.document is None
        assert "/attendance 2026-10" in text_of(answer)


async def test_start_codes_too_long_or_strange(
    outpost: Outpost, sandbox: SandboxServer, no_errors_logged: None
) -> None:
    """A /start code over 64 characters, or with characters no code has: unknown invitation."""
    stranger = sandbox.add_person(8101, "Someone", "en")
    for code in ("a" * 65, "b" * 4000, "abc\u0000def", "a%20b"):
        stranger.send_command("start", code)
        assert "invitation" in text_of(await stranger.wait_for_message()).lower()


async def test_huge_ids_in_buttons_are_refused_politely(
    outpost: Outpost, sandbox: SandboxServer, no_errors_logged: None
) -> None:
    """Leave and duty buttons carrying ids of 2**31, 2**63 and above: answered, not raised."""
    station = await make_station()
    await make_person(8201, station, Role.HEAD)
    head = sandbox.add_person(8201, "Head", "en")
    head.send_command("help")
    await head.wait_for_message()
    for huge in HUGE_IDS:
        for data in (f"leave:ok:{huge}", f"duty:s:2026-01-06:{huge}"):
            answer = await head.send_crafted_callback(data).wait_answer()
            assert answer.text, data


async def test_leave_with_impossible_dates(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock, no_errors_logged: None
) -> None:
    """Dates that do not exist get the usage; year 9999 is too far ahead; nothing is filed."""
    station = await make_station()
    await make_person(8301, station)
    await make_person(8302, station, Role.HEAD)
    amina = sandbox.add_person(8301, "Amina", "en")
    head = sandbox.add_person(8302, "Head", "en")
    for args in ("2026-02-30 sick", "2026-13-01 sick", "2026-00-10 sick", "99999-01-01 x"):
        amina.send_command("leave", args)
        assert "/leave 12-24" in text_of(await amina.wait_for_message())
    amina.send_command("leave", "9999-12-30 9999-12-31 far away")
    assert "more than 366 days ahead" in text_of(await amina.wait_for_message())
    amina.send_command("leave", "0001-01-01 long ago")
    assert "too far in the past" in text_of(await amina.wait_for_message())
    assert not await LeaveRequest.exists()
    amina.send_command("leave", f"{date(2026, 1, 8).isoformat()} family")
    assert "Thu, Jan 8, 2026" in text_of(await amina.wait_for_message())
    assert await LeaveRequest.filter(status=RequestStatus.PENDING).count() == 1
    assert "family" in text_of(await head.wait_for_message())
