"""Sending outbox messages as SMS or voice calls through an HTTP gateway."""

from __future__ import annotations

import base64
import logging
from typing import Any
from xml.sax.saxutils import escape

import aiohttp

from bot.delivery.base import Outcome, RenderedMessage, classify_http
from bot.delivery.config import SmsConfig
from db.enums import Channel

logger = logging.getLogger(__name__)


class SmsSender:
    """A generic JSON gateway (bearer token) or a Twilio-compatible one (form, basic auth)."""

    paced = False

    def __init__(self, config: SmsConfig, *, channel: Channel = Channel.SMS) -> None:
        self.config = config
        self.channel = channel
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP session."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds)
            )

    async def stop(self) -> None:
        """Close the HTTP session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _request(self, message: RenderedMessage) -> tuple[str, dict[str, Any]]:
        config = self.config
        token = config.token.get_secret_value() if config.token else ""
        voice = self.channel == Channel.VOICE
        # Gateways that deduplicate by key make a resend after a crash harmless.
        headers = {"Idempotency-Key": f"outpost-outbox-{message.message_id}"}
        if config.style == "json":
            payload: dict[str, Any] = {
                "to": message.address,
                "text": message.text,
                "channel": "voice" if voice else "sms",
                "reference": f"outbox-{message.message_id}",
            }
            if config.from_number:
                payload["from"] = config.from_number
            if token:
                headers["Authorization"] = f"Bearer {token}"
            return config.url, {"json": payload, "headers": headers}
        form = {"To": message.address}
        if config.from_number:
            form["From"] = config.from_number
        if voice:
            form["Twiml"] = f"<Response><Say>{escape(message.text)}</Say></Response>"
        else:
            form["Body"] = message.text
        url = (config.voice_url or config.url) if voice else config.url
        user_and_token = f"{config.username or ''}:{token}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(user_and_token).decode()
        return url, {"data": form, "headers": headers}

    async def send(self, message: RenderedMessage) -> Outcome:
        """POST the message; 2xx sent, 429 and 5xx retried, other 4xx final."""
        if self._session is None or self._session.closed:
            await self.start()
        assert self._session is not None
        url, kwargs = self._request(message)
        try:
            async with self._session.post(url, **kwargs) as response:
                body: Any = None
                if response.content_type == "application/json":
                    body = await response.json()
                else:
                    await response.read()
                outcome = classify_http(response.status, f"gateway answered {response.status}")
                if outcome.kind == "sent":
                    gateway_id = None
                    if isinstance(body, dict):
                        gateway_id = body.get("id") or body.get("sid")
                    return Outcome.sent(
                        str(gateway_id) if gateway_id else None, http_status=response.status
                    )
                if outcome.kind == "throttled":
                    wait = response.headers.get("Retry-After", "")
                    return Outcome(
                        "throttled",
                        http_status=429,
                        error=outcome.error,
                        retry_after=float(wait) if wait.replace(".", "", 1).isdigit() else 5.0,
                    )
                return outcome
        except TimeoutError:
            return Outcome("retry", error="gateway timed out")
        except aiohttp.ClientError as exc:
            return Outcome("retry", error=f"gateway: {type(exc).__name__}")
