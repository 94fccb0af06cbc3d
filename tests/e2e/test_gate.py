"""The gate and the error edge in chat: refused buttons answered with a reason, errors said
once with their params, menus published without any update waiting for them."""

from __future__ import annotations

import logging

import pytest

from bot.app import Outpost, menu_publisher
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as ChatPerson
from db.enums import Role
from db.models import Person, PersonRole, Station
from handlers.chat.edge import ErrorEdge
from services.callbacks import StationRoster, encode
from tests.auxil.chat import text_of
from tests.e2e.conftest import eventually

REFUSED_EN = "This button no longer works. Open the command again."
REFUSED_ZH = "此按钮已失效，请重新打开相应命令。"


async def _people() -> Station:
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4281, lon=3.4219, timezone="Africa/Lagos"
    )
    for telegram_id, name, language, role in [
        (9001, "Head", "en", Role.HEAD),
        (9002, "Wang", "zh-Hans", Role.STAFF),
    ]:
        person = await Person.create(
            telegram_id=telegram_id, name=name, language=language, station=station
        )
        await PersonRole.create(person=person, role=role)
    return station


async def test_buttons_the_codec_did_not_build_are_answered_with_a_reason(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """Empty, old-layout, unknown and out-of-range data: a short alert in the reader's
    language, and nothing else happens."""
    await _people()
    head, wang = sandbox.add_person(9001, "Head", "en"), sandbox.add_person(9002, "Wang", "zh")
    for person in (head, wang):
        person.send_command("help")
        await person.wait_for_message()
    for data in [
        "",
        "leave:ok:1",
        "duty:d:2026-13-45",
        "zz1:3",
        f"lv1:a:{2**63}",
        "dd1:20261345",
        "ro1:0",
    ]:
        answer = await head.send_crafted_callback(data).wait_answer()
        assert (answer.text, answer.show_alert) == (REFUSED_EN, True), data
    answer = await wang.send_crafted_callback("checkin:ask").wait_answer()
    assert answer.text == REFUSED_ZH
    assert len(head.messages) == 1
    assert len(wang.messages) == 1


async def test_a_refusal_keeps_the_error_params(outpost: Outpost, sandbox: SandboxServer) -> None:
    """A DomainError is said once, by the edge, with its params filled in."""
    await _people()
    wang = sandbox.add_person(9002, "Wang", "zh")
    wang.send_command("leave", "2026-01-08 2026-06-30 home")
    said = await wang.wait_for_message()
    assert "90" in text_of(said)
    assert "{days}" not in text_of(said)


async def test_an_unexpected_error_is_answered_and_logged_without_content(
    outpost: Outpost,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug answers "error.generic" (and the pressed button), is logged once with its
    traceback, and the log holds nothing the person sent."""
    station = await _people()

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr("handlers.chat.contacts.directory", broken)
    monkeypatch.setattr("handlers.chat.people.station_roster", broken)
    head = sandbox.add_person(9001, "Head", "en")
    with caplog.at_level(logging.INFO):
        head.send_command("contacts")
        said = await head.wait_for_message()
        assert text_of(said).startswith("Something went wrong on our side")
        answer = await head.send_crafted_callback(encode(StationRoster(station.id))).wait_answer()
        assert answer.text is not None
        assert answer.text.startswith("Something went wrong on our side")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2
    assert all(r.exc_info is not None for r in errors)
    assert not [
        r for r in caplog.records if "Head" in r.getMessage() or "/contacts" in r.getMessage()
    ]
    assert outpost.telegram is not None
    edges = [h for h in outpost.telegram.error_handlers if isinstance(h, ErrorEdge)]
    assert [edge.unexpected for edge in edges] == [2]


async def test_no_update_waits_for_a_menu(outpost: Outpost, sandbox: SandboxServer) -> None:
    """setMyCommands hanging: the person is answered at once; the menu goes out later."""
    await _people()
    head = sandbox.add_person(9001, "Head", "en")
    sandbox.sandbox.faults.add("timeout", methods=["setMyCommands"], delay=30)
    head.send_command("help")
    answer = await head.wait_for_message(timeout=2)
    assert text_of(answer).startswith("What you can do here")
    assert await Person.filter(telegram_id=9001, menu_key__isnull=True).exists()
    sandbox.sandbox.faults.clear()


async def test_a_stale_menu_is_queued_once(outpost: Outpost, sandbox: SandboxServer) -> None:
    """However many updates find the menu stale, it is published once."""
    await _people()
    head = sandbox.add_person(9001, "Head", "en")
    assert outpost.telegram is not None
    publisher = menu_publisher(outpost.telegram)
    before = publisher.published
    for _ in range(3):
        publisher.request(9001)
    await publisher.idle()
    assert publisher.published == before + 1
    await eventually(lambda: _has(head, "duty"))
    head.send_command("help")
    await head.wait_for_message()
    await publisher.idle()
    assert publisher.published == before + 1


async def _has(person: ChatPerson, command: str) -> bool:
    return command in {c["command"] for c in person.visible_commands()}
