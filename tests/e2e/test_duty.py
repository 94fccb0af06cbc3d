"""The duty roster in chat: a head sets it with two taps; staff cannot."""

from __future__ import annotations

from datetime import date

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import Role
from db.models import DutyRoster, Person, PersonRole, Station
from services.callbacks import DutyPick, encode


async def test_head_sets_duty_and_staff_cannot(outpost: Outpost, sandbox: SandboxServer) -> None:
    """Tap a day, tap a person: the roster shows them and they are told."""
    station = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42,
                                   timezone="Africa/Lagos")
    for tid, name, role in [(5001, "Head", Role.HEAD), (5002, "Wang", Role.STAFF)]:
        person = await Person.create(telegram_id=tid, name=name, station=station)
        await PersonRole.create(person=person, role=role)
    head = sandbox.add_person(5001, "Head", "en")
    wang = sandbox.add_person(5002, "Wang", "en")
    head.send_command("duty")
    view = await head.wait_for_message()
    assert view.raw_text.splitlines()[1] == "2026-01-05: nobody"
    await head.press("01-06", view).wait_answer()
    picker = await head.wait_for_edit(view)
    assert picker.raw_text == "Who is on duty on 2026-01-06?"
    await head.press("Wang", view).wait_answer()
    await head.wait_until(lambda: "2026-01-06: Wang" in (head.last_message or view).raw_text)
    told = await wang.wait_for_message()
    assert told.raw_text.startswith("🛡 You are on duty on 2026-01-06")
    entry = await DutyRoster.get()
    assert entry.person_id == (await Person.get(telegram_id=5002)).id

    wang.send_command("duty")
    assert "not allowed" in (await wang.wait_for_message()).raw_text
    crafted = wang.send_crafted_callback(encode(DutyPick(date(2026, 1, 7), entry.person_id)))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")
    assert await DutyRoster.all().count() == 1
