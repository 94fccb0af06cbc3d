"""Hostile updates through the whole handler stack: no traceback, every button answered.

Generated messages, commands with odd arguments, locations out of range, contacts, edited
messages, group messages and callback data (empty, unknown, forged, ids of 2**63 and more,
impossible dates) are sent by registered people of every role, someone registering, a
deactivated person and a stranger, and handled by the real Application (gate, handlers, error
edge) against the sandbox. OUTPOST_HOSTILE_EXAMPLES sets how many (10,000 for the full run).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import date

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings

from bot.app import TelegramEndpoint, build_telegram, menu_publisher
from bot.sandbox import FloodLimits, SandboxServer
from db.enums import Role
from db.models import LeaveRequest, Person, PersonRole, Station
from services.clock import ManualClock
from tests.auxil.hostile import Act, HostileHarness, acts

TOKEN = "434343:OUTPOST-hostile-token"
EXAMPLES = int(os.environ.get("OUTPOST_HOSTILE_EXAMPLES", "500"))
# Who sends: telegram id, role (None: no role), registration step, active.
SENDERS: dict[str, tuple[int, Role | None, str | None, bool]] = {
    "staff": (8101, Role.STAFF, None, True),
    "head": (8102, Role.HEAD, None, True),
    "safety": (8103, Role.SAFETY, None, True),
    "hq": (8104, Role.HQ, None, True),
    "admin": (8105, Role.ADMIN, None, True),
    "no_role": (8106, None, None, True),
    "registering": (8107, Role.STAFF, "phone", True),
    "choosing_language": (8108, Role.STAFF, "language", True),
    "deactivated": (8109, Role.STAFF, None, False),
    "stranger": (8110, None, None, True),
}


async def _organisation() -> None:
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4281, lon=3.4219, timezone="Africa/Lagos"
    )
    for name, (telegram_id, role, step, active) in SENDERS.items():
        if name == "stranger":
            continue
        person = await Person.create(
            telegram_id=telegram_id,
            name=name,
            station=station,
            registration_step=step,
            active=active,
        )
        if role is not None:
            await PersonRole.create(person=person, role=role)
    staff = await Person.get(telegram_id=SENDERS["staff"][0])
    # Real objects to point real-looking buttons at.
    await LeaveRequest.create(
        person=staff,
        station=station,
        start_date=date(2026, 1, 8),
        end_date=date(2026, 1, 9),
        reason="family",
    )


@pytest_asyncio.fixture
async def harness(db: str, clock: ManualClock) -> AsyncIterator[HostileHarness]:
    """The real Application on this test's database, answering through the sandbox."""
    await _organisation()
    # Flood limits are another test's business: here every answer must go out at once.
    server = SandboxServer("127.0.0.1", 0, limits=FloodLimits(enabled=False))
    server.sandbox.wall_clock = lambda: clock.now().timestamp()
    server.add_bot(TOKEN, "outpost_test_bot", "Outpost")
    await server.start()
    # Updates go straight to process_update here (no inbox): replies are sent directly.
    application = build_telegram(TelegramEndpoint(TOKEN, server.url), clock=clock)
    await application.initialize()
    publisher = menu_publisher(application)
    await publisher.start()
    try:
        people = {
            name: server.add_person(tid, name.title(), "en") for name, (tid, *_) in SENDERS.items()
        }
        for person in people.values():
            # Something from the bot in each chat, for crafted buttons to hang on.
            await application.bot.send_message(person.id, "hello")
        yield HostileHarness(server, application, people)
        await publisher.idle()
        server.sandbox.assert_no_violations()
    finally:
        await publisher.stop()
        await application.shutdown()
        await server.stop()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(act=acts(list(SENDERS)))
async def test_hostile_updates_leave_no_traceback_and_no_button_spinning(
    harness: HostileHarness, act: Act
) -> None:
    """Whatever anyone sends: no unhandled exception reaches the error edge, every callback
    query is answered."""
    errors_before = harness.edge.unexpected
    await harness.act(act)
    assert harness.edge.unexpected == errors_before, act
    assert harness.unanswered == [], act


@pytest.mark.parametrize(
    ("sender", "data"),
    [
        ("head", f"lv1:a:{2**63}"),
        ("head", "leave:ok:1"),
        ("head", "duty:d:2026-13-45"),
        ("head", "dd1:20261345"),
        ("head", ""),
        ("staff", "zz9:1"),
        ("stranger", "ci1"),
        ("registering", "lv1:a:1"),
        ("hq", f"ro1:{2**64}"),
    ],
)
async def test_known_attacks_are_answered_with_a_reason(
    harness: HostileHarness, sender: str, data: str
) -> None:
    """The presses found in the field: each answered with a short alert, nothing raised."""
    await harness.act(Act(sender, "callback", data))
    answers = harness.people[sender].callback_answers
    assert answers, data
    assert answers[-1].text, data
    assert harness.edge.unexpected == 0
