"""The wiring end to end: updates by polling and webhook, health, commands and languages."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.app import Outpost, StartupError
from bot.demo import seed_demo_organisation, start_demo_sandbox
from bot.sandbox import SandboxServer
from bot.settings import Settings
from db.enums import InboxStatus, Role
from db.models import InboundUpdate, Person, PersonRole, Station
from handlers.web.webhook import SECRET_HEADER, WEBHOOK_PATH
from services.clock import ManualClock
from tests.auxil.chat import text_of
from tests.e2e.conftest import outpost_settings


async def _register(telegram_id: int, name: str, language: str) -> Person:
    station = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42)
    person = await Person.create(
        telegram_id=telegram_id, name=name, language=language, station=station
    )
    await PersonRole.create(person=person, role=Role.STAFF)
    return person


async def test_stranger_gets_one_polite_line(outpost: Outpost, sandbox: SandboxServer) -> None:
    """Someone without an invitation learns how to get one, and nothing else."""
    stranger = sandbox.add_person(555, "Stranger", "en")
    stranger.send_command("start")
    answer = await stranger.wait_for_message()
    assert "invitation link" in text_of(answer)
    assert answer.reply_markup is None
    stranger.send_command("help")
    assert "invitation link" in text_of(await stranger.wait_for_message())


async def test_registered_person_is_greeted_in_their_language(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """A Chinese-speaking engineer reads Chinese, whatever their Telegram app says."""
    await _register(1001, "王磊", "zh-Hans")
    wang = sandbox.add_person(1001, "Wang", "en")
    wang.send_command("start")
    assert text_of(await wang.wait_for_message()).startswith("王磊，您好")
    wang.send_command("help")
    text = text_of(await wang.wait_for_message())
    assert "/alert" not in text  # an HQ command
    assert "/help — 我能做什么？" in text


async def test_command_menu_is_localised(outpost: Outpost, sandbox: SandboxServer) -> None:
    """setMyCommands is published in English and, for Chinese apps, in Chinese."""
    english = sandbox.add_person(2001, "Amina", "en")
    chinese = sandbox.add_person(2002, "Li", "zh-hans")
    assert {c["command"] for c in english.visible_commands()} == {"start", "help"}
    descriptions = {c["command"]: c["description"] for c in chinese.visible_commands()}
    assert descriptions["help"] == "我能做什么？"


async def test_healthz(outpost: Outpost) -> None:
    """The health endpoint answers 200 with the database reachable; taking updates by
    polling, there is no webhook to post forged updates to."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{outpost.web_url}/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["database"] == "ok"
        async with http.post(f"{outpost.web_url}{WEBHOOK_PATH}", json={"update_id": 1}) as resp:
            assert resp.status in (404, 405)


async def test_no_token_with_a_real_database_is_refused(tmp_path: Path) -> None:
    """A lost token must not turn a deployment into the demo: nothing is opened or written."""
    real = tmp_path / "outpost.sqlite3"
    settings = Settings(_env_file=None, database_url=f"sqlite://{real}")  # type: ignore[call-arg]
    with pytest.raises(StartupError, match="OUTPOST_TELEGRAM_TOKEN is not"):
        await Outpost(settings, ticking=False).start()
    assert not real.exists()


async def test_the_demo_sandbox_listens_on_loopback_only(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even with OUTPOST_WEB_HOST=0.0.0.0 the sandbox (anyone can act as anyone) stays local."""
    from tests.e2e.conftest import free_port

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, web_host="0.0.0.0", sandbox_port=free_port()
    )
    server, _ = await start_demo_sandbox(settings)
    try:
        assert server.url.startswith("http://127.0.0.1:")
    finally:
        await server.stop()


async def _webhook_outpost(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> Outpost:
    """A started Outpost taking updates by webhook (secret "e2e-secret"); the caller stops it."""
    from tests.e2e.conftest import free_port

    port = free_port()
    settings = outpost_settings(
        sandbox,
        database_url,
        webhook=True,
        web_port=port,
        public_url=f"http://127.0.0.1:{port}",
        webhook_secret="e2e-secret",
    )
    app = Outpost(settings, clock=clock, ticking=False)
    await app.start()
    return app


async def test_webhook_checks_the_secret_and_handles_a_redelivery_once(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> None:
    """In webhook mode a wrong secret is refused and a duplicate delivery answered once."""
    app = await _webhook_outpost(sandbox, database_url, clock)
    try:
        account = next(iter(sandbox.sandbox.bots.values()))
        account.duplicate_deliveries = 1
        visitor = sandbox.add_person(777, "Visitor", "en")
        visitor.send_command("start")
        await visitor.wait_for_message()
        await visitor.wait_until(lambda: len(account.delivered) >= 2)
        assert len([m for m in visitor.messages]) == 1
        assert await InboundUpdate.filter(status=InboxStatus.HANDLED).count() == 1
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{app.web_url}{WEBHOOK_PATH}",
                json={"update_id": 1},
                headers={SECRET_HEADER: "wrong"},
            ) as resp:
                assert resp.status == 401
            async with http.post(f"{app.web_url}{WEBHOOK_PATH}", json={"update_id": 1}) as resp:
                assert resp.status == 401
    finally:
        await app.stop()


async def test_a_webhook_redelivery_during_handling_is_handled_once(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> None:
    """200 means stored: a redelivery while the update is still being handled, or after, is
    acknowledged at once and never handled a second time."""
    app = await _webhook_outpost(sandbox, database_url, clock)
    try:
        visitor = sandbox.add_person(779, "Visitor", "en")
        sandbox.sandbox.faults.add("slow", methods=["sendMessage"], delay=0.5)
        update = {
            "update_id": 4242,
            "message": {
                "message_id": 1,
                "date": int(clock.now().timestamp()),
                "chat": {"id": 779, "type": "private", "first_name": "Visitor"},
                "from": {"id": 779, "is_bot": False, "first_name": "Visitor"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        url, headers = f"{app.web_url}{WEBHOOK_PATH}", {SECRET_HEADER: "e2e-secret"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update, headers=headers) as first:
                assert first.status == 200
            # Stored before the answer: the row exists whatever happens next.
            assert await InboundUpdate.filter(update_id=4242).exists()
            async with http.post(url, json=update, headers=headers) as again:
                assert again.status == 200
            await visitor.wait_for_message()
            async with http.post(url, json=update, headers=headers) as late:
                assert late.status == 200
        assert app.dispatcher is not None
        await app.dispatcher.idle()
        assert app.delivery is not None
        await app.delivery.idle()
        assert len(visitor.messages) == 1
        assert await InboundUpdate.filter(status=InboxStatus.HANDLED).count() == 1
    finally:
        await app.stop()


async def test_demo_organisation_is_idempotent(db: str) -> None:
    """Seeding the demo twice leaves one station and the same people."""
    await seed_demo_organisation()
    await seed_demo_organisation()
    assert await Station.all().count() == 1
    assert await Person.all().count() == 5
    assert await PersonRole.filter(role=Role.HEAD).count() == 1
