"""People and places end to end: invitations, the gate, roles, menus, /language, /contacts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import Outpost, menu_publisher
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as ChatPerson
from db.enums import ContactKind, Role
from db.models import CheckIn, Contact, Invite, OutboxMessage, Person, PersonRole, Station
from i18n import language_name
from services.callbacks import StationRoster, encode
from services.clock import ManualClock
from services.handover import MENU_REFRESH, deactivate
from services.invites import create_invite
from tests.auxil.chat import text_of
from tests.auxil.rows import fk_id
from tests.e2e.conftest import eventually

STRANGER_LINE = "you need an invitation link"


async def _station() -> Station:
    return await Station.create(
        code="LOS",
        name="Lagos service station",
        country="NG",
        city="Lagos",
        lat=6.4281,
        lon=3.4219,
        timezone="Africa/Lagos",
    )


async def _person(
    station: Station | None, telegram_id: int, name: str, language: str, *roles: Role
) -> Person:
    person = await Person.create(
        telegram_id=telegram_id, name=name, language=language, station=station
    )
    for role in roles:
        await PersonRole.create(person=person, role=role)
    return person


async def test_invitation_registers_asks_phone_and_language_and_tells_the_head(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """invite → /start code → own phone (someone else's refused) → language → head told."""
    station = await _station()
    head = await _person(station, 7001, "张伟", "zh-Hans", Role.HEAD)
    head_chat = sandbox.add_person(7001, "Zhang", "zh-hans")
    invite = await create_invite(role=Role.STAFF, station_code="LOS", clock=clock)
    newcomer = sandbox.add_person(
        7002, "Bola", "en", last_name="Ade", phone_number="+2348031234567"
    )

    newcomer.send_command("start", invite.code)
    assert text_of(await newcomer.wait_for_message()).startswith("Welcome to Outpost, Bola Ade")
    ask = await newcomer.wait_for_message()
    assert "your own phone number" in text_of(ask)
    assert newcomer.reply_keyboard_buttons()[0].get("request_contact") is True

    # Someone else's contact card is refused with the reason, and the question repeated.
    newcomer._send(
        {"contact": {"phone_number": "+2348000000099", "first_name": "Other", "user_id": 9999}}
    )
    assert "someone else's contact" in text_of(await newcomer.wait_for_message())
    await newcomer.wait_for_message()  # the question again
    assert (await Person.get(telegram_id=7002)).phone is None

    newcomer.press("Share my phone number")
    assert "phone number is saved" in text_of(await newcomer.wait_for_message())
    choose = await newcomer.wait_for_message()
    assert set(choose.button_texts) >= {language_name("en"), language_name("zh-Hans")}
    await newcomer.press(language_name("zh-Hans"), choose).wait_answer()
    done = await newcomer.wait_for_message()
    assert text_of(done).startswith("Bola Ade，注册完成")

    person = await Person.get(telegram_id=7002).prefetch_related("roles")
    assert (person.phone, person.language, person.registration_step) == (
        "+2348031234567",
        "zh-Hans",
        None,
    )
    assert [grant.role for grant in person.roles] == [Role.STAFF]
    assert fk_id(await Invite.get(id=invite.id), "used_by") == person.id

    notice = await OutboxMessage.get(recipient_id=head.id)
    assert (notice.msgid, notice.language) == ("registration.notice.staff", "zh-Hans")
    told = await head_chat.wait_for_message()
    assert told.raw_text == "Bola Ade 已作为驻外员工加入您的站点。"
    # The head opens the roster from the notice; names are for heads only.
    await head_chat.press("查看站点人员", told).wait_answer()
    roster = await head_chat.wait_for_message()
    assert "Bola Ade — 驻外员工" in text_of(roster)

    # The newcomer's menu is their role's, in their language.
    # Published in the background, off the update's path (slower on a busy machine).
    await eventually(lambda: _has_menu(newcomer), timeout=15)
    commands = {c["command"]: c["description"] for c in newcomer.visible_commands()}
    assert commands["contacts"] == "紧急联系人"
    assert "alert" not in commands
    assert "duty" not in commands


async def _has_menu(person: ChatPerson) -> bool:
    return any(c["command"] == "contacts" for c in person.visible_commands())


async def test_invitations_expire_and_work_once(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Expired, used and unknown codes are refused clearly; nothing is registered."""
    await _station()
    invite = await create_invite(
        role=Role.STAFF, station_code="LOS", expires_in=timedelta(days=1), clock=clock
    )
    first = sandbox.add_person(7101, "First", "en")
    first.send_command("start", invite.code)
    await first.wait_for_message()
    second = sandbox.add_person(7102, "Second", "en")
    second.send_command("start", invite.code)
    assert "already been used" in text_of(await second.wait_for_message())
    second.send_command("start", "no-such-code")
    assert "not valid" in text_of(await second.wait_for_message())
    late = await create_invite(
        role=Role.STAFF, station_code="LOS", expires_in=timedelta(days=1), clock=clock
    )
    clock.advance(days=1, seconds=1)
    second.send_command("start", late.code)
    assert "has expired" in text_of(await second.wait_for_message())
    assert not await Person.filter(telegram_id=7102).exists()


async def test_strangers_and_deactivated_people_learn_nothing(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """One polite line for anything they send; no names, no menu beyond /start and /help."""
    station = await _station()
    await _person(station, 7201, "Secret Name", "en", Role.HEAD)
    gone = await _person(station, 7202, "Gone Person", "en", Role.STAFF)
    gone.active = False
    await gone.save()
    for telegram_id in (7203, 7202):
        person = sandbox.add_person(telegram_id, "Visitor", "en")
        for send in (
            lambda p=person: p.send_text("hello, who is here?"),
            lambda p=person: p.send_command("contacts"),
            lambda p=person: p.send_command("help"),
            lambda p=person: p.share_contact("+2348000000123"),
        ):
            send()
            answer = await person.wait_for_message()
            assert STRANGER_LINE in text_of(answer)
            assert "Secret" not in text_of(answer)
            assert answer.reply_markup is None
        crafted = person.send_crafted_callback(encode(StationRoster(station.id)))
        assert STRANGER_LINE in ((await crafted.wait_answer()).text or "")
        assert {c["command"] for c in person.visible_commands()} == {"start", "help"}
    assert await Person.filter(telegram_id=7203).count() == 0


async def test_staff_cannot_run_head_or_hq_commands(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """Roles come from the database on every command and every button press."""
    station = await _station()
    await _person(station, 7301, "Amina", "en", Role.STAFF)
    amina = sandbox.add_person(7301, "Amina", "en")
    for command in ("approvals", "outings", "alert", "incidents", "duty"):
        amina.send_command(command)
        assert "not allowed" in text_of(await amina.wait_for_message())
    crafted = amina.send_crafted_callback(encode(StationRoster(station.id)))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")
    # Promoted in the database: the same press now works, no restart needed.
    await PersonRole.create(person=await Person.get(telegram_id=7301), role=Role.HEAD)
    amina.send_crafted_callback(encode(StationRoster(station.id)))
    assert "Amina" in text_of(await amina.wait_for_message())


async def test_a_menu_telegram_refuses_does_not_stop_the_gate(
    outpost: Outpost, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """setMyCommands failing (5xx, timeout) costs the menu, never the check or the answer."""
    station = await _station()
    await _person(station, 7351, "Musa", "en", Role.STAFF)
    musa = sandbox.add_person(7351, "Musa", "en")
    sandbox.sandbox.faults.add("server_error", methods=["setMyCommands"], status=502)
    musa.send_command("duty")
    assert "not allowed" in text_of(await musa.wait_for_message())
    musa.send_command("help")
    assert "/checkin" in text_of(await musa.wait_for_message())
    assert await Person.filter(telegram_id=7351, menu_key__isnull=True).exists()
    assert len(musa.messages) == 2
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
    # Telegram takes menus again: the publisher's retry publishes it (moved on, not waited for).
    sandbox.sandbox.faults.clear()
    assert outpost.telegram is not None
    publisher = menu_publisher(outpost.telegram)
    assert publisher.failed >= 1
    publisher.retry_now()
    await publisher.idle()
    await eventually(lambda: _has_menu(musa))


async def test_groups_get_nothing_personal_and_edited_commands_run_nothing(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """In a group: a command gets one line pointing to the private chat, a location is no
    check-in. A message edited into a command is not run."""
    station = await _station()
    await _person(station, 7361, "Head", "en", Role.HEAD)
    await _person(station, 7362, "Ife", "en", Role.STAFF)
    head = sandbox.add_person(7361, "Head", "en")
    ife = sandbox.add_person(7362, "Ife", "en")
    group = sandbox.add_group("LOS team", [head, ife])
    group.say(head, "/attendance")
    assert "private chats only" in text_of(await group.wait_for_message())
    ife._send({"location": {"latitude": 6.4281, "longitude": 3.4219}}, chat=group.chat)
    group.say(head, "/help")
    assert "private chats only" in text_of(await group.wait_for_message())
    assert not await CheckIn.exists()
    assert [m.raw_text for m in group.messages if "Lagos" in (m.raw_text or "")] == []

    ife.send_command("help")
    await ife.wait_for_message()
    edited = dict(
        ife.send_text("hello").data,
        text="/duty",
        entities=[{"type": "bot_command", "offset": 0, "length": 5}],
        edit_date=sandbox.sandbox.now(),
    )
    sandbox.sandbox.push_update(ife.account, "edited_message", edited)
    ife.send_command("help")
    assert "/checkin" in text_of(await ife.wait_for_message())
    assert not [m for m in ife.messages if "not allowed" in (m.raw_text or "")]


async def test_menus_follow_role_and_language(outpost: Outpost, sandbox: SandboxServer) -> None:
    """Each person's menu lists their roles' commands, described in their language."""
    station = await _station()
    await _person(station, 7401, "王磊", "zh-Hans", Role.STAFF)
    await _person(station, 7402, "Zhang", "en", Role.HEAD)
    await _person(None, 7403, "Chen", "en", Role.HQ)
    people = {tid: sandbox.add_person(tid, "P", "en") for tid in (7401, 7402, 7403)}
    for person in people.values():
        person.send_command("start")
        await person.wait_for_message()
    assert outpost.telegram is not None
    await menu_publisher(outpost.telegram).idle()
    staff = {c["command"]: c["description"] for c in people[7401].visible_commands()}
    head = {c["command"] for c in people[7402].visible_commands()}
    hq = {c["command"] for c in people[7403].visible_commands()}
    assert staff["language"] == "切换语言"
    assert {"start", "help", "contacts", "language"} <= set(staff)
    assert "duty" in head
    assert "duty" not in staff
    assert "duty" not in hq
    assert not {"outings", "approvals", "alert", "incidents"} & set(staff)


async def test_language_switch_applies_to_the_next_answer(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """/language offers each language in itself; the next answer and the menu follow."""
    station = await _station()
    await _person(station, 7501, "Wang", "zh-Hans", Role.STAFF)
    wang = sandbox.add_person(7501, "Wang", "zh-hans")
    wang.send_command("language")
    offer = await wang.wait_for_message()
    assert offer.raw_text == "请选择语言："
    assert offer.button_texts == ["English", "✓ 中文 (简体)"]
    wang.send_command("checkin")
    await wang.wait_for_message()
    assert [b["text"] for b in wang.reply_keyboard_buttons()] == ["📍 签到", "🆘 SOS"]
    await wang.press("English", offer).wait_answer()
    assert text_of(await wang.wait_for_message()).startswith("Done, Wang")
    # The check-in keyboard button now speaks the new language too.
    assert [b["text"] for b in wang.reply_keyboard_buttons()] == ["📍 Check in", "🆘 SOS"]
    wang.send_command("help")
    assert text_of(await wang.wait_for_message()).startswith("What you can do here")
    assert outpost.telegram is not None
    await menu_publisher(outpost.telegram).idle()
    descriptions = {c["command"]: c["description"] for c in wang.visible_commands()}
    assert descriptions["language"] == "Change language"
    assert (await Person.get(telegram_id=7501)).language == "en"


async def test_contacts_in_nigeria_embassy_first_with_distances(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """/contacts lists the embassy before the police, with tappable numbers and distances."""
    station = await _station()
    await _person(station, 7601, "Amina", "en", Role.STAFF)
    await Contact.create(
        country="NG", kind=ContactKind.POLICE, name="Police <emergency>", phone="112"
    )
    await Contact.create(
        country="NG",
        kind=ContactKind.EMBASSY,
        name="Embassy of the P.R. China in Nigeria",
        phone="+23490000000",
        lat=9.0765,
        lon=7.3986,
    )
    await Contact.create(
        country="NG", kind=ContactKind.HQ_DUTY, name="MFA hotline", phone="+861012308"
    )
    await Contact.create(country="KE", kind=ContactKind.POLICE, name="Kenya police", phone="999")
    amina = sandbox.add_person(7601, "Amina", "en")
    amina.send_command("contacts")
    answer = await amina.wait_for_message()
    text = text_of(answer)
    assert text.startswith("Contacts in Nigeria")
    assert text.index("Embassy of the P.R. China") < text.index("Police <emergency>")
    assert text.index("Police <emergency>") < text.index("MFA hotline")
    assert "Kenya" not in text
    assert "km away" in text  # Lagos to Abuja, about 530 km
    links = [e.get("url") for e in answer.data.get("entities", []) if e["type"] == "text_link"]
    assert "tel:112" in links
    assert "tel:+23490000000" in links


async def test_a_deactivated_person_loses_their_menu_at_once(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """`outpost deactivate` (another process) queues both menus; the running bot publishes
    them at its next look at the deadlines: the head's menu goes, the successor gains /duty."""
    station = await _station()
    await _person(station, 7801, "Zhang", "en", Role.HEAD)
    await _person(station, 7802, "Wang", "en", Role.STAFF)
    await _person(None, 7803, "Chen", "en", Role.HQ)
    people = {tid: sandbox.add_person(tid, "P", "en") for tid in (7801, 7802, 7803)}
    for person in people.values():
        person.send_command("start")
        await person.wait_for_message()
    # The head's own pending leave is cancelled by the handover: HQ's card says so.
    people[7801].send_command("leave", "2026-01-20 home leave")
    await people[7801].wait_for_message()
    card = await people[7803].wait_for_message()
    assert outpost.telegram is not None
    publisher = menu_publisher(outpost.telegram)
    await publisher.idle()
    assert "duty" in {c["command"] for c in people[7801].visible_commands()}
    assert "duty" not in {c["command"] for c in people[7802].visible_commands()}

    await deactivate(telegram_id=7801, successor_telegram_id=7802, clock=outpost.clock)
    await publisher.idle()
    assert "duty" in {c["command"] for c in people[7801].visible_commands()}  # not yet
    assert outpost.deadlines is not None
    fired = await outpost.deadlines.run_due()
    assert [f.outcome for f in fired if f.kind == MENU_REFRESH] == ["done", "done"]
    await publisher.idle()
    assert "duty" not in {c["command"] for c in people[7801].visible_commands()}
    assert (await Person.get(telegram_id=7801)).menu_key is None
    assert "duty" in {c["command"] for c in people[7802].visible_commands()}
    await people[7803].wait_until(lambda: text_of(card).endswith("↩️ Withdrawn by Zhang."))
    assert card.button_texts == []
