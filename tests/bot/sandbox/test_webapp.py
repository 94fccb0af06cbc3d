"""Mini App initData is signed exactly as Telegram signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, unquote

import pytest

from bot.sandbox import Person, verify_init_data

from .tinybot import TOKEN


def telegram_check(init_data: str, token: str) -> bool:
    """The algorithm from Telegram's documentation, written out independently."""
    pairs = dict(parse_qsl(init_data))
    received = pairs.pop("hash")
    check_string = "\n".join(f"{k}={pairs[k]}" for k in sorted(pairs))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest() == received


def test_init_data_signature(alice: Person) -> None:
    init_data = alice.init_data(query_id="AAQ1", auth_date=1_700_000_000)
    assert telegram_check(init_data, TOKEN)
    assert not telegram_check(init_data, "123456:another-token")
    fields = verify_init_data(init_data, TOKEN)
    assert fields["auth_date"] == "1700000000"
    assert fields["query_id"] == "AAQ1"
    assert json.loads(fields["user"])["id"] == alice.id
    with pytest.raises(ValueError, match="hash"):
        verify_init_data(init_data.replace("AAQ1", "AAQ2"), TOKEN)


async def test_web_app_button_opens_signed_url(server: object, alice: Person) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

    from .tinybot import builder

    application = builder(server, TOKEN).updater(None).build()  # type: ignore[arg-type]
    async with application:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Open app", web_app=WebAppInfo("http://127.0.0.1:1/app?x=1"))]]
        )
        await application.bot.send_message(alice.id, "Plan your day", reply_markup=markup)
    url = alice.press("Open app").url
    assert url is not None
    assert url.startswith("http://127.0.0.1:1/app?x=1#tgWebAppData=")
    fragment = dict(parse_qsl(url.split("#", 1)[1]))
    assert telegram_check(fragment["tgWebAppData"], TOKEN)
    assert unquote(fragment["tgWebAppPlatform"]) == "web"
