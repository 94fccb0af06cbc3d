"""E-mail through a local SMTP server and SMS / voice through a local HTTP gateway."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from bot.delivery.config import EmailConfig, SmsConfig
from bot.delivery.email import EmailSender
from bot.delivery.sms import SmsSender
from db.enums import Channel, DeliveryStatus, Lane
from db.models import DeliveryAttempt, OutboxMessage
from services.clock import ManualClock
from services.notify import button, delivery_report

from .conftest import ServiceFactory, queue, until


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler keeping what it received; refuses one address."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        """Accept every recipient but the unknown one."""
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message."""
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A local SMTP server on 127.0.0.1."""
    handler = Mailbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def _settled(*ids: int) -> bool:
    rows = await OutboxMessage.filter(id__in=ids).values_list("status", flat=True)
    return all(status in (DeliveryStatus.SENT, DeliveryStatus.FAILED) for status in rows)


async def test_email_is_sent_and_refusal_is_final(
    mailbox: tuple[Mailbox, int], make_service: ServiceFactory, clock: ManualClock
) -> None:
    """The embassy gets the brief by e-mail in its language; a refused address fails for good."""
    handler, port = mailbox
    config = EmailConfig(
        host="127.0.0.1", port=port, security="none", from_address="outpost@example.org"
    )
    rows = [
        await queue(
            address,
            f"mail-{address}",
            lane=Lane.ESCALATION,
            name="使馆",
            channel=Channel.EMAIL,
            language="zh-Hans",
            buttons=[[button("outbox.button.open", url="https://outpost.example.org/i/1")]],
            source_kind="incident",
            source_id=11,
            clock=clock,
        )
        for address in ("consular@example.org", "nobody@example.org")
    ]
    await make_service(senders={Channel.EMAIL: EmailSender(config)})
    await until(lambda: _settled(*(row.id for row in rows)))
    ((recipients, raw),) = handler.received
    assert recipients == ["consular@example.org"]
    mail = message_from_bytes(raw)
    assert mail["Subject"]
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "给使馆的测试消息。" in body
    assert "打开: https://outpost.example.org/i/1" in body
    report = {entry.message_id: entry for entry in await delivery_report("incident", 11)}
    assert report[rows[0].id].state == "delivered"
    assert (report[rows[1].id].state, report[rows[1].id].error_code) == ("failed", 550)


class Gateway:
    """A local SMS gateway: records requests, answers 503 for the first `failures` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = failures

    async def handle(self, request: web.Request) -> web.Response:
        """Record and answer."""
        entry: dict[str, Any] = {
            "path": request.path,
            "authorization": request.headers.get("Authorization"),
            "idempotency": request.headers.get("Idempotency-Key"),
        }
        if request.content_type == "application/json":
            entry["json"] = await request.json()
        else:
            entry["form"] = dict(await request.post())
        self.requests.append(entry)
        if self.failures > 0:
            self.failures -= 1
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"id": f"gw-{len(self.requests)}"}, status=201)


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    """The gateway served on 127.0.0.1."""
    handler = Gateway(failures=1)
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield handler, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_sms_json_gateway_with_bearer_token_and_retry(
    gateway: tuple[Gateway, str], make_service: ServiceFactory, clock: ManualClock
) -> None:
    """JSON style: bearer token, to/text/channel; a 503 is retried, then sent."""
    handler, url = gateway
    config = SmsConfig(url=f"{url}/send", style="json", token=SecretStr("s3cret"))
    row = await queue(
        "+2348000000001",
        "sms-1",
        lane=Lane.EMERGENCY,
        name="Ade",
        channel=Channel.SMS,
        clock=clock,
    )
    service = await make_service(senders={Channel.SMS: SmsSender(config)})
    await until(lambda: DeliveryAttempt.filter(message_id=row.id).exists())
    clock.advance(seconds=10)
    service.wake()
    await until(lambda: _settled(row.id))
    first, second = handler.requests
    assert second["authorization"] == "Bearer s3cret"
    assert second["json"] == {
        "to": "+2348000000001",
        "text": "Test message for Ade.",
        "channel": "sms",
        "reference": f"outbox-{row.id}",
    }
    assert first["idempotency"] == second["idempotency"] == f"outpost-outbox-{row.id}"
    stored = await OutboxMessage.get(id=row.id)
    assert (stored.status, stored.external_id, stored.attempts) == (DeliveryStatus.SENT, "gw-2", 2)
    log = await DeliveryAttempt.filter(message_id=row.id).order_by("id")
    assert [(a.outcome, a.http_status) for a in log] == [("retry", 503), ("sent", 201)]


async def test_twilio_style_sms_and_voice_with_basic_auth(
    gateway: tuple[Gateway, str], make_service: ServiceFactory, clock: ManualClock
) -> None:
    """Twilio style: form fields To/From/Body (voice: Twiml) with basic auth."""
    handler, url = gateway
    handler.failures = 0
    config = SmsConfig(
        url=f"{url}/2010-04-01/Accounts/AC1/Messages.json",
        style="twilio",
        username="AC1",
        token=SecretStr("tw-token"),
        from_number="+15550000000",
        voice_url=f"{url}/2010-04-01/Accounts/AC1/Calls.json",
    )
    rows = [
        await queue(
            "+2348000000002",
            f"tw-{channel}",
            lane=Lane.EMERGENCY,
            name="<Ade>",
            channel=channel,
            clock=clock,
        )
        for channel in (Channel.SMS, Channel.VOICE)
    ]
    await make_service(
        senders={
            Channel.SMS: SmsSender(config),
            Channel.VOICE: SmsSender(config, channel=Channel.VOICE),
        }
    )
    await until(lambda: _settled(*(row.id for row in rows)))
    by_path = {entry["path"]: entry for entry in handler.requests}
    expected_auth = "Basic " + base64.b64encode(b"AC1:tw-token").decode()
    sms = by_path["/2010-04-01/Accounts/AC1/Messages.json"]
    assert sms["authorization"] == expected_auth
    assert sms["form"] == {
        "To": "+2348000000002",
        "From": "+15550000000",
        "Body": "Test message for <Ade>.",
    }
    call = by_path["/2010-04-01/Accounts/AC1/Calls.json"]
    assert call["form"]["Twiml"] == "<Response><Say>Test message for &lt;Ade&gt;.</Say></Response>"
