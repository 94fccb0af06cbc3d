"""Files, commands, menu buttons, chat actions, locations and the chat JSON API."""

from __future__ import annotations

import aiohttp
from telegram import BotCommand, BotCommandScopeChat, MenuButtonWebApp, WebAppInfo

from bot.sandbox import BotAccount, Person, SandboxServer, tiny_png

from .tinybot import TOKEN, HttpClient, builder, call


async def test_files_upload_resend_and_download(server: SandboxServer, alice: Person) -> None:
    application = builder(server, TOKEN).updater(None).build()
    async with application:
        bot = application.bot
        photo = await bot.send_photo(
            alice.id, tiny_png(4, 3), caption="<i>site</i>", parse_mode="HTML"
        )
        assert (photo.photo[-1].width, photo.photo[-1].height) == (4, 3)
        assert photo.caption == "site"
        assert photo.caption_entities[0].type == "italic"
        again = await bot.send_photo(alice.id, photo.photo[-1].file_id)
        assert again.photo[-1].file_id == photo.photo[-1].file_id
        doc = await bot.send_document(alice.id, b"a,b\n1,2\n", filename="sheet.csv")
        assert doc.document is not None
        assert doc.document.file_name == "sheet.csv"
        file = await bot.get_file(doc.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"
        sent = alice.send_document(b"report", "report.txt")
        file = await bot.get_file(sent.data["document"]["file_id"])
        assert file.file_path is not None
        assert file.file_path.endswith(".txt")
        assert bytes(await file.download_as_bytearray()) == b"report"
    assert [m.photo is not None for m in alice.messages] == [True, True, False]


async def test_commands_by_scope_and_language(
    server: SandboxServer, alice: Person, bob: Person
) -> None:
    application = builder(server, TOKEN).updater(None).build()
    async with application:
        bot = application.bot
        await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("sos", "Alarm")])
        await bot.set_my_commands([BotCommand("start", "Démarrer")], language_code="fr")
        await bot.set_my_commands(
            [BotCommand("outings", "Outings")], scope=BotCommandScopeChat(alice.id)
        )
        assert [c.command for c in await bot.get_my_commands()] == ["start", "sos"]
        assert [c.description for c in await bot.get_my_commands(language_code="fr")] == [
            "Démarrer"
        ]
        assert [c["command"] for c in alice.visible_commands()] == ["outings"]
        assert [c["description"] for c in bob.visible_commands()] == ["Démarrer"]
        await bot.delete_my_commands(language_code="fr")
        assert [c["command"] for c in bob.visible_commands()] == ["start", "sos"]

        await bot.set_chat_menu_button(
            alice.id, MenuButtonWebApp("Open", WebAppInfo("https://app.example/x"))
        )
        button = await bot.get_chat_menu_button(alice.id)
        assert isinstance(button, MenuButtonWebApp)
        assert button.web_app.url == "https://app.example/x"
        assert (await bot.get_chat_menu_button(bob.id)).type == "default"


async def test_location_venue_and_chat_action(server: SandboxServer, alice: Person) -> None:
    application = builder(server, TOKEN).updater(None).build()
    async with application:
        bot = application.bot
        await bot.send_chat_action(alice.id, "find_location")
        await bot.send_location(alice.id, 6.43, 3.42, horizontal_accuracy=30)
        await bot.send_venue(alice.id, 9.07, 7.39, "Embassy", "Abuja")
    assert alice.actions == ["find_location"]
    first, second = alice.messages
    assert first.location == {"latitude": 6.43, "longitude": 3.42, "horizontal_accuracy": 30.0}
    assert second.data["venue"]["title"] == "Embassy"


async def test_group_messages(server: SandboxServer, alice: Person, bob: Person) -> None:
    group = server.add_group("Lagos station", [alice, bob])
    group.say(bob, "hello all")
    update = server.sandbox.bot().updates[-1]["message"]
    assert update["chat"] == {"id": group.id, "type": "supergroup", "title": "Lagos station"}
    application = builder(server, TOKEN).updater(None).build()
    async with application:
        await application.bot.send_message(group.id, "Hi group")
    assert (await group.wait_for_message()).raw_text == "Hi group"


async def test_chat_json_api(server: SandboxServer, alice: Person, http: HttpClient) -> None:
    base = f"{server.url}/sandbox/api"
    async with http.get(f"{base}/state") as r:
        state = await r.json()
    assert state["people"][0]["first_name"] == "Alice"
    who = {"user_id": alice.id}
    async with http.post(f"{base}/send", json={**who, "text": "/start"}) as r:
        assert r.status == 200
    async with http.post(
        f"{base}/location",
        json={**who, "latitude": 6.4, "longitude": 3.4, "horizontal_accuracy": 20},
    ) as r:
        assert r.status == 200
    form = aiohttp.FormData()
    form.add_field("user_id", str(alice.id))
    form.add_field("photo", tiny_png(), filename="p.png", content_type="image/png")
    async with http.post(f"{base}/photo", data=form) as r:
        assert r.status == 200
    kinds = [
        next(k for k in ("text", "location", "photo") if k in u["message"])
        for u in server.sandbox.bot().updates
    ]
    assert kinds == ["text", "location", "photo"]
    await call(http, server, TOKEN, "sendMessage", chat_id=alice.id, text="ok")
    async with http.get(f"{base}/chat", params={**who, "since": "-1"}) as r:
        chat = await r.json()
    assert [m["from_bot"] for m in chat["messages"]] == [False, False, False, True]
    async with http.post(f"{base}/people", json={"user_id": 5, "first_name": "Dan"}) as r:
        assert (await r.json()) == {"id": 5}
    async with http.post(f"{base}/faults", json={"kind": "server_error", "times": 1}) as r:
        assert r.status == 200
    assert (await call(http, server, TOKEN, "getMe"))[0] == 502


async def test_burst_and_reply_stats(server: SandboxServer, bot_account: BotAccount) -> None:
    """Many people act in one request; the sandbox times each message to the bot's answer."""
    import aiohttp

    for user_id in (7001, 7002, 7003):
        server.add_person(user_id, f"P{user_id}", "en")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/sandbox/api/burst", json={"user_ids": [7001, 7002, 7003], "text": "hi"}
        ) as resp:
            assert (await resp.json()) == {"sent": 3}
        assert len(bot_account.updates) == 3
        async with http.post(
            f"{server.url}/bot{bot_account.token}/sendMessage",
            json={"chat_id": 7001, "text": "answer"},
        ) as resp:
            assert resp.status == 200
        async with http.delete(f"{server.url}/sandbox/api/stats") as resp:
            stats = await resp.json()
        assert stats["messages_sent"] == 1
        assert len(stats["reply_latencies"]) == 1
        assert bot_account.reply_latencies == []
        async with http.post(f"{server.url}/sandbox/api/burst", json={"user_ids": []}) as resp:
            assert resp.status == 400
