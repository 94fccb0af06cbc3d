"""Flood limits answered with 429 and retry_after; injected faults; PTB honouring both."""

from __future__ import annotations

import aiohttp
import pytest
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application

from bot.sandbox import FloodLimits, ManualClock, Person, Sandbox, SandboxServer

from .tinybot import TOKEN, HttpClient, builder, call


def test_private_chat_burst_then_one_per_second() -> None:
    clock = ManualClock()
    sandbox = Sandbox(limits=FloodLimits(private_burst=3), clock=clock)
    granted = [sandbox.limiter.acquire(1, 10, "private") for _ in range(4)]
    assert granted == [0, 0, 0, 1]
    clock.advance(1.0)
    assert sandbox.limiter.acquire(1, 10, "private") == 0
    assert sandbox.limiter.acquire(1, 11, "private") == 0  # other chats are independent


def test_group_twenty_per_minute() -> None:
    clock = ManualClock()
    sandbox = Sandbox(clock=clock)
    assert all(sandbox.limiter.acquire(1, -5, "supergroup") == 0 for _ in range(20))
    assert sandbox.limiter.acquire(1, -5, "supergroup") == 3  # one slot every 3 s
    clock.advance(3.0)
    assert sandbox.limiter.acquire(1, -5, "supergroup") == 0


def test_overall_limit_and_paid_broadcast() -> None:
    clock = ManualClock()
    limits = FloodLimits(per_second=30, paid_per_second=1000, private_burst=1)
    sandbox = Sandbox(limits=limits, clock=clock)
    assert all(sandbox.limiter.acquire(1, chat, "private") == 0 for chat in range(30))
    assert sandbox.limiter.acquire(1, 100, "private") == 1
    assert all(sandbox.limiter.acquire(1, 200 + c, "private", paid=True) == 0 for c in range(500))
    assert sandbox.limiter.acquire(2, 100, "private") == 0  # per bot


@pytest.fixture
def limits() -> FloodLimits:
    """Tight limits: 2 messages in a burst per private chat."""
    return FloodLimits(private_burst=2, private_per_second=1)


async def test_flood_limit_answers_429(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    for _ in range(2):
        status, _ = await call(http, server, TOKEN, "sendMessage", chat_id=alice.id, text="a")
        assert status == 200
    status, body = await call(http, server, TOKEN, "sendMessage", chat_id=alice.id, text="a")
    assert (status, body) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    assert len(alice.messages) == 2  # 429 is not a violation: nothing to acknowledge


async def test_ptb_rate_limiter_honours_retry_after(
    server: SandboxServer, alice: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 warns on integer retry_after unless timedelta values are opted into.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    application = builder(server, TOKEN, rate_limiter=True).updater(None).build()
    async with application:
        for n in range(3):
            await application.bot.send_message(alice.id, f"message {n}")
    assert [m.raw_text for m in alice.messages] == ["message 0", "message 1", "message 2"]
    attempts = [m for _, m in server.sandbox.requests if m == "sendMessage"]
    assert len(attempts) == 4  # the third message was refused once, then retried


async def test_server_error_surfaces_and_retry_succeeds(
    server: SandboxServer, alice: Person
) -> None:
    server.sandbox.faults.add("server_error", methods=["sendMessage"], times=2, status=502)
    application: Application = builder(server, TOKEN).updater(None).build()
    errors: list[str] = []
    async with application:
        for _attempt in range(3):
            try:
                await application.bot.send_message(alice.id, "eventually")
                break
            except NetworkError as exc:
                errors.append(str(exc))
    assert errors == ["Bad Gateway", "Bad Gateway"]
    assert [m.raw_text for m in alice.messages] == ["eventually"]


async def test_timeout_fault_holds_past_client_timeout(
    server: SandboxServer, alice: Person
) -> None:
    server.sandbox.faults.add("timeout", methods=["sendMessage"], times=1, delay=30)
    application: Application = builder(server, TOKEN).updater(None).read_timeout(0.2).build()
    async with application:
        with pytest.raises(TimedOut):
            await application.bot.send_message(alice.id, "lost")
        await application.bot.send_message(alice.id, "delivered")
    assert [m.raw_text for m in alice.messages] == ["delivered"]


async def test_dropped_connection_and_seeded_share(
    server: SandboxServer, alice: Person, http: HttpClient
) -> None:
    server.sandbox.faults.add("drop", methods=["getMe"], times=1)
    with pytest.raises(aiohttp.ClientError):
        await call(http, server, TOKEN, "getMe")
    assert (await call(http, server, TOKEN, "getMe"))[0] == 200

    def outcomes(seed: int) -> list[int]:
        sandbox = Sandbox(seed=seed)
        sandbox.faults.add("server_error", rate=0.3)
        return [0 if sandbox.faults.pick("getMe") is None else 1 for _ in range(50)]

    assert outcomes(7) == outcomes(7)
    assert 5 <= sum(outcomes(7)) <= 25


async def test_slow_answer(server: SandboxServer, alice: Person, http: HttpClient) -> None:
    server.sandbox.faults.add("slow", methods=["getMe"], times=1, delay=0.05)
    status, body = await call(http, server, TOKEN, "getMe")
    assert status == 200
    assert body["result"]["username"] == "outpost_test_bot"
