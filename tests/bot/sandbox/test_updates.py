"""getUpdates and webhook semantics: offsets, long polling, allowed_updates, conflicts."""

from __future__ import annotations

import asyncio

from bot.sandbox import BotAccount, Person, SandboxServer

from .tinybot import TOKEN, HttpClient, call


async def test_offset_confirms_and_limit(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    for n in range(3):
        alice.send_text(f"m{n}")
    _, body = await call(http, server, TOKEN, "getUpdates", limit=2)
    ids = [u["update_id"] for u in body["result"]]
    assert len(ids) == 2
    assert body["result"][0]["message"]["text"] == "m0"
    _, body = await call(http, server, TOKEN, "getUpdates", offset=ids[1] + 1)
    assert [u["message"]["text"] for u in body["result"]] == ["m2"]
    _, body = await call(http, server, TOKEN, "getUpdates", offset=-1)
    assert [u["message"]["text"] for u in body["result"]] == ["m2"]
    last = body["result"][0]["update_id"]
    _, body = await call(http, server, TOKEN, "getUpdates", offset=last + 1)
    assert body["result"] == []


async def test_long_poll_wakes_on_new_update(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    poll = asyncio.create_task(call(http, server, TOKEN, "getUpdates", timeout=10))
    await server.sandbox.changed.wait_for(lambda: server.sandbox.bot().poll_generation, 5)
    alice.send_text("/start now")
    _status, body = await asyncio.wait_for(poll, 5)
    message = body["result"][0]["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"] == {
        "id": 1001,
        "is_bot": False,
        "first_name": "Alice",
        "username": "alice",
        "language_code": "en",
    }
    assert message["chat"] == {
        "id": 1001,
        "type": "private",
        "first_name": "Alice",
        "username": "alice",
    }


async def test_second_poller_terminates_the_first(
    server: SandboxServer, bot_account: BotAccount, http: HttpClient
) -> None:
    first = asyncio.create_task(call(http, server, TOKEN, "getUpdates", timeout=10))
    await server.sandbox.changed.wait_for(lambda: bot_account.poll_generation == 1, 5)
    status, body = await call(http, server, TOKEN, "getUpdates", timeout=0)
    assert status == 200
    status, body = await first
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    server.sandbox.acknowledge("terminated by other getUpdates")


async def test_allowed_updates_filter(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    await call(http, server, TOKEN, "getUpdates", allowed_updates=["callback_query"])
    alice.send_text("ignored")
    _, body = await call(http, server, TOKEN, "getUpdates")
    assert body["result"] == []


async def test_webhook_blocks_get_updates_and_info(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    alice.send_text("pending")
    status, body = await call(
        http,
        server,
        TOKEN,
        "setWebhook",
        url="http://127.0.0.1:9/hook",
        secret_token="abc",
        drop_pending_updates=True,
    )
    assert (status, body["result"], body["description"]) == (200, True, "Webhook was set")
    status, body = await call(http, server, TOKEN, "getUpdates")
    assert status == 409
    assert body["description"] == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first"
    )
    server.sandbox.acknowledge("Conflict")
    _, body = await call(http, server, TOKEN, "getWebhookInfo")
    assert body["result"]["url"] == "http://127.0.0.1:9/hook"
    assert body["result"]["pending_update_count"] == 0
    await call(http, server, TOKEN, "deleteWebhook")
    _, body = await call(http, server, TOKEN, "getWebhookInfo")
    assert body["result"]["url"] == ""


async def test_several_bots_share_one_server(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    other = server.add_bot(username="other_bot")
    alice.with_bot(other.token).send_text("for the other bot")
    _, mine = await call(http, server, TOKEN, "getUpdates")
    _, theirs = await call(http, server, other.token, "getUpdates")
    assert mine["result"] == []
    assert theirs["result"][0]["message"]["text"] == "for the other bot"
    _, me = await call(http, server, other.token, "getMe")
    assert me["result"]["username"] == "other_bot"
    assert me["result"]["is_bot"] is True
