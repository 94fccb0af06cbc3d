"""Requests Telegram would reject are rejected with Telegram's wording, and recorded."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox import BotAccount, Person, SandboxServer

from .tinybot import TOKEN, HttpClient, call

CHAT = 1001
BUTTON = {"text": "ok", "callback_data": "x"}


def markup(*buttons: dict[str, Any]) -> dict[str, Any]:
    """An inline keyboard with one row."""
    return {"inline_keyboard": [list(buttons)]}


REJECTIONS: list[tuple[str, dict[str, Any], int, str]] = [
    ("sendMessage", {"text": "hi"}, 400, "Bad Request: chat_id is empty"),
    ("sendMessage", {"chat_id": CHAT}, 400, "Bad Request: message text is empty"),
    ("sendMessage", {"chat_id": CHAT, "text": "  "}, 400, "Bad Request: message text is empty"),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "<b></b>", "parse_mode": "HTML"},
        400,
        "Bad Request: message text is empty",
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "x" * 4097},
        400,
        "Bad Request: message is too long",
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "hi", "colour": "red"},
        400,
        'Bad Request: unknown parameter "colour"',
    ),
    ("sendMessage", {"chat_id": 999, "text": "hi"}, 400, "Bad Request: chat not found"),
    ("sendMessage", {"chat_id": "@nobody", "text": "hi"}, 400, "Bad Request: chat not found"),
    (
        "sendVenue",
        {"chat_id": CHAT, "latitude": 1, "longitude": 2, "address": "a"},
        400,
        'Bad Request: parameter "title" is required',
    ),
    (
        "sendPhoto",
        {"chat_id": CHAT, "photo": "x", "caption": "c" * 1025},
        400,
        "Bad Request: message caption is too long",
    ),
    (
        "sendMessage",
        {
            "chat_id": CHAT,
            "text": "hi",
            "reply_markup": markup({"text": "t", "callback_data": "x" * 65}),
        },
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {
            "chat_id": CHAT,
            "text": "hi",
            "reply_markup": markup({"text": "t", "callback_data": ""}),
        },
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "hi", "reply_markup": markup({"text": "t"})},
        400,
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
        "inline keyboard",
    ),
    (
        "sendMessage",
        {
            "chat_id": CHAT,
            "text": "hi",
            "reply_markup": markup(
                {"text": "t", "callback_data": "x", "url": "https://example.org"}
            ),
        },
        400,
        "Bad Request: can't parse inline keyboard button: exactly one of the optional fields "
        "must be used, got callback_data, url",
    ),
    (
        "sendMessage",
        {
            "chat_id": CHAT,
            "text": "hi",
            "reply_markup": markup({"text": "t", "url": "example.org"}),
        },
        400,
        "Bad Request: BUTTON_URL_INVALID",
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "<b>hi", "parse_mode": "HTML"},
        400,
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "<b>hi</i>", "parse_mode": "HTML"},
        400,
        'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 5, expected "</b>", '
        'found "</i>"',
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "<div>hi</div>", "parse_mode": "HTML"},
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0',
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "<span>hi</span>", "parse_mode": "HTML"},
        400,
        'Bad Request: can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte '
        "offset 0",
    ),
    (
        "sendMessage",
        {"chat_id": CHAT, "text": "Done.", "parse_mode": "MarkdownV2"},
        400,
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with "
        "the preceding '\\'",
    ),
    (
        "sendChatAction",
        {"chat_id": CHAT, "action": "dancing"},
        400,
        "Bad Request: wrong parameter action in request",
    ),
    (
        "editMessageText",
        {"chat_id": CHAT, "message_id": 77, "text": "x"},
        400,
        "Bad Request: message to edit not found",
    ),
    (
        "deleteMessage",
        {"chat_id": CHAT, "message_id": 77},
        400,
        "Bad Request: message to delete not found",
    ),
    (
        "answerCallbackQuery",
        {"callback_query_id": "42"},
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    ),
    (
        "getFile",
        {"file_id": "nope"},
        400,
        "Bad Request: wrong file_id or the file is temporarily unavailable",
    ),
    (
        "sendPhoto",
        {"chat_id": CHAT, "photo": "https://example.org/a.jpg"},
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    ),
    (
        "setMyCommands",
        {"commands": [{"command": "Start!", "description": "x"}]},
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    ),
    (
        "setWebhook",
        {"url": "http://127.0.0.1:9/x", "secret_token": "no spaces"},
        400,
        "Bad Request: secret token contains unallowed characters",
    ),
]


@pytest.mark.parametrize(("method", "params", "status", "description"), REJECTIONS)
async def test_rejected_with_telegram_wording(
    server: SandboxServer,
    alice: Person,
    http: HttpClient,
    method: str,
    params: dict[str, Any],
    status: int,
    description: str,
) -> None:
    code, body = await call(http, server, TOKEN, method, **params)
    assert (code, body) == (
        status,
        {"ok": False, "error_code": status, "description": description},
    )
    [violation] = server.sandbox.acknowledge(description)
    assert violation.method == method


async def test_unknown_token_and_method(
    server: SandboxServer, bot_account: BotAccount, http: HttpClient
) -> None:
    assert await call(http, server, "1:wrong", "getMe") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await call(http, server, TOKEN, "sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    server.sandbox.acknowledge("Unauthorized")
    server.sandbox.acknowledge("Not Found")


async def test_blocked_and_never_started(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    server.add_person(2002, "Carol", started=False)
    alice.block_bot()
    assert await call(http, server, TOKEN, "sendMessage", chat_id=alice.id, text="hi") == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    _status, body = await call(http, server, TOKEN, "sendMessage", chat_id=2002, text="hi")
    assert body["description"] == "Forbidden: bot can't initiate conversation with a user"
    assert len(server.sandbox.acknowledge(lambda v: v.error_code == 403)) == 2
    # the bot learnt about the block from a my_chat_member update
    update = server.sandbox.bot().updates[-1]
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    alice.unblock_bot()
    assert (await call(http, server, TOKEN, "sendMessage", chat_id=alice.id, text="hi"))[0] == 200


async def test_limits_are_inclusive(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    status, body = await call(http, server, TOKEN, "sendMessage", chat_id=CHAT, text="x" * 4096)
    assert status == 200
    assert len(body["result"]["text"]) == 4096
    # length counts after entity parsing: tags do not count
    text = "<b>" + "y" * 4096 + "</b>"
    status, _ = await call(
        http, server, TOKEN, "sendMessage", chat_id=CHAT, text=text, parse_mode="HTML"
    )
    assert status == 200
    data64 = "é" * 32  # 64 bytes in UTF-8
    status, _ = await call(
        http,
        server,
        TOKEN,
        "sendMessage",
        chat_id=CHAT,
        text="k",
        reply_markup=markup({"text": "t", "callback_data": data64}),
    )
    assert status == 200


async def test_form_body_as_ptb_sends_it(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    status, body = await call(
        http,
        server,
        TOKEN,
        "sendMessage",
        form=True,
        chat_id=CHAT,
        text="A &amp; B <i>ok</i>",
        parse_mode="HTML",
        reply_markup=markup(BUTTON),
        disable_notification=True,
    )
    assert status == 200
    assert body["result"]["text"] == "A & B ok"
    assert body["result"]["reply_markup"] == markup(BUTTON)
    assert alice.last_message is not None
    assert alice.last_message.button_texts == ["ok"]


async def test_edit_not_modified_and_delete(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    _, body = await call(
        http, server, TOKEN, "sendMessage", chat_id=CHAT, text="same", reply_markup=markup(BUTTON)
    )
    message_id = body["result"]["message_id"]
    status, body = await call(
        http,
        server,
        TOKEN,
        "editMessageText",
        chat_id=CHAT,
        message_id=message_id,
        text="same",
        reply_markup=markup(BUTTON),
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified")
    server.sandbox.acknowledge("message is not modified")
    status, body = await call(
        http, server, TOKEN, "editMessageReplyMarkup", chat_id=CHAT, message_id=message_id
    )
    assert status == 200
    assert "reply_markup" not in body["result"]
    assert await call(
        http, server, TOKEN, "deleteMessage", chat_id=CHAT, message_id=message_id
    ) == (200, {"ok": True, "result": True})
    assert alice.messages == []
    assert alice.all_messages[0].deleted


def test_unacknowledged_rejection_fails_the_test() -> None:
    from bot.sandbox import Sandbox

    sandbox = Sandbox()
    sandbox.record_violation(TOKEN, "sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(AssertionError, match="sendMessage -> 400 Bad Request: chat not found"):
        sandbox.assert_no_violations()
    with pytest.raises(AssertionError, match="expected a rejection"):
        sandbox.acknowledge("message is too long")
    lenient = Sandbox(strict=False)
    lenient.record_violation(TOKEN, "sendMessage", 400, "Bad Request: chat not found")
    lenient.assert_no_violations()
