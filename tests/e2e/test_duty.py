"""The duty roster in chat: a head sets it with two taps; staff cannot."""

from __future__ import annotations

from datetime import date, timedelta

from bot.app import Outpost
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as ChatPerson
from bot.sandbox.world import ChatMessage
from db.enums import RequestStatus, Role
from db.models import DutyRoster, LeaveRequest, Person, PersonRole, Station
from services.callbacks import DutyPick, encode
from services.clock import ManualClock
from tests.auxil.chat import text_of


async def test_head_sets_duty_and_staff_cannot(outpost: Outpost, sandbox: SandboxServer) -> None:
    """Tap a day, tap a person: the roster shows them and they are told."""
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
    for tid, name, role in [(5001, "Head", Role.HEAD), (5002, "Wang", Role.STAFF)]:
        person = await Person.create(telegram_id=tid, name=name, station=station)
        await PersonRole.create(person=person, role=role)
    head = sandbox.add_person(5001, "Head", "en")
    wang = sandbox.add_person(5002, "Wang", "en")
    head.send_command("duty")
    view = await head.wait_for_message()
    assert text_of(view).splitlines()[1] == "Mon, Jan 5: nobody"
    await head.press("Tue, Jan 6", view).wait_answer()
    picker = await head.wait_for_edit(view)
    assert picker.raw_text == "Who is on duty on Tue, Jan 6, 2026?"
    await head.press("Wang", view).wait_answer()
    await head.wait_until(lambda: "Tue, Jan 6: Wang" in text_of(head.last_message or view))
    told = await wang.wait_for_message()
    assert text_of(told).startswith("🛡 You are on duty on Tue, Jan 6, 2026")
    entry = await DutyRoster.get()
    assert entry.person_id == (await Person.get(telegram_id=5002)).id

    wang.send_command("duty")
    assert "not allowed" in text_of(await wang.wait_for_message())
    crafted = wang.send_crafted_callback(encode(DutyPick(date(2026, 1, 7), entry.person_id)))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")
    assert await DutyRoster.all().count() == 1


async def test_reassign_warn_clear_and_back(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The picker has the station's staff and heads only; a change tells both people; someone
    on leave needs a confirmation; a day can be cleared; Back returns to the week."""
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
    people = {}
    for tid, name, role, language in [
        (5101, "Head", Role.HEAD, "en"),
        (5102, "Wang", Role.STAFF, "en"),
        (5103, "Li", Role.STAFF, "zh-Hans"),
        (5104, "Officer", Role.SAFETY, "en"),
        (5105, "Boss", Role.HQ, "en"),
    ]:
        people[name] = await Person.create(
            telegram_id=tid, name=name, station=station, language=language
        )
        await PersonRole.create(person=people[name], role=role)
    await LeaveRequest.create(
        person=people["Li"],
        station=station,
        start_date=date(2026, 1, 7),
        end_date=date(2026, 1, 7),
        reason="x",
        status=RequestStatus.APPROVED,
    )
    head = sandbox.add_person(5101, "Head", "en")
    wang = sandbox.add_person(5102, "Wang", "en")
    li = sandbox.add_person(5103, "Li", "zh-hans")
    head.send_command("duty")
    view = await head.wait_for_message()
    await head.press("Wed, Jan 7", view).wait_answer()
    await head.wait_for_edit(view)
    assert view.button_texts == ["Head", "Li", "Wang", "⬅️ Back"]

    # Li is on leave that day: a warning, then "pick someone else" returns to the picker.
    await head.press("Li", view).wait_answer()
    await head.wait_for_edit(view)
    assert view.raw_text == (
        "⚠️ Li is on approved leave on Wed, Jan 7, 2026. Put them on duty anyway?"
    )
    assert view.button_texts == ["✅ Yes, put them on duty", "👥 Pick someone else", "⬅️ Back"]
    assert not await DutyRoster.exists()
    await head.press("👥 Pick someone else", view).wait_answer()
    await head.wait_for_edit(view)
    await head.press("Li", view).wait_answer()
    await head.wait_for_edit(view)
    await head.press("✅ Yes, put them on duty", view).wait_answer()
    await head.wait_until(lambda: "Wed, Jan 7: Li" in text_of(view))
    assert text_of(await li.wait_for_message()).startswith("🛡 您在 2026年1月7日周三 值班")

    # Reassigned to Wang: Wang is told, and so is Li.
    await head.press("Wed, Jan 7", view).wait_answer()
    await head.wait_for_edit(view)
    assert view.button_texts == ["Head", "✓ Li", "Wang", "🚫 Nobody on duty this day", "⬅️ Back"]
    await head.press("Wang", view).wait_answer()
    await head.wait_until(lambda: "Wed, Jan 7: Wang" in text_of(view))
    assert text_of(await wang.wait_for_message()).startswith(
        "🛡 You are on duty on Wed, Jan 7, 2026"
    )
    removed = await _while_time_passes(li, clock)
    assert removed.raw_text == "🛡 您在 2026年1月7日周三 不再值班：站长修改了值班表。"

    # Cleared: Wang is told; Back from a picker changes nothing.
    await head.press("Wed, Jan 7", view).wait_answer()
    await head.wait_for_edit(view)
    await head.press("🚫 Nobody on duty this day", view).wait_answer()
    await head.wait_until(lambda: "Wed, Jan 7: nobody" in text_of(view))
    assert text_of(await _while_time_passes(wang, clock)).startswith(
        "🛡 You are no longer on duty on Wed, Jan 7, 2026"
    )
    assert not await DutyRoster.exists()
    await head.press("Thu, Jan 8", view).wait_answer()
    await head.wait_for_edit(view)
    await head.press("⬅️ Back", view).wait_answer()
    await head.wait_until(lambda: text_of(view).startswith("🛡 Duty roster"))

    # A forged press for the safety officer is refused by the service.
    forged = head.send_crafted_callback(encode(DutyPick(date(2026, 1, 8), people["Officer"].id)))
    assert "not allowed" in ((await forged.wait_answer()).text or "")
    assert not await DutyRoster.exists()


async def _while_time_passes(person: ChatPerson, clock: ManualClock) -> ChatMessage:
    """The next message from the outbox, moving the clock on as a real one would (the outbox
    keeps to Telegram's per-chat pace on the business clock)."""
    for _ in range(10):
        clock.advance(timedelta(seconds=2))
        try:
            return await person.wait_for_message(timeout=1.0)
        except TimeoutError:
            continue
    raise AssertionError("no message from the outbox")
