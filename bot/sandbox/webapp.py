"""Mini App initData, signed exactly as Telegram signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode


def secret_key(bot_token: str) -> bytes:
    """Return HMAC_SHA256(key="WebAppData", msg=bot_token)."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """Return the sorted key=value lines, without hash, joined by newlines."""
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def sign_init_data(
    bot_token: str,
    user: dict[str, Any],
    auth_date: int,
    query_id: str | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """Return the initData query string for user, with Telegram's hash field."""
    fields: dict[str, str] = {
        "auth_date": str(auth_date),
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
    }
    if query_id is not None:
        fields["query_id"] = query_id
    fields.update(extra or {})
    digest = hmac.new(secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256)
    fields["hash"] = digest.hexdigest()
    return urlencode(fields, quote_via=quote)


def verify_init_data(init_data: str, bot_token: str) -> dict[str, str]:
    """Check the hash of initData with the standard algorithm and return its fields."""
    fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    received = fields.get("hash", "")
    expected = hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(received, expected):
        raise ValueError("initData hash does not match")
    return fields


def web_app_url(url: str, init_data: str, version: str = "8.0", platform: str = "web") -> str:
    """Append initData to a Mini App URL as Telegram clients do (in the fragment)."""
    params = urlencode(
        {"tgWebAppData": init_data, "tgWebAppVersion": version, "tgWebAppPlatform": platform},
        quote_via=quote,
    )
    base = url.split("#", 1)[0]
    return f"{base}#{params}"
