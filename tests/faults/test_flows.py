"""Two Outpost processes on one database take turns at one person's conversation: each answer
goes to the other process, and the flow goes on as if there were one."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest_asyncio

from bot.sandbox import SandboxServer
from bot.sandbox.world import ChatMessage, WebhookConfig
from db.enums import RequestStatus, Role
from db.models import Conversation, LeaveRequest
from tests.auxil.chat import text_of
from tests.auxil.stations import lagos_with
from tests.e2e.conftest import TOKEN, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "faults-flows-secret"

Spawn = Callable[[str], Awaitable[str]]


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A strict sandbox on the wall clock (the Outpost processes read the system clock)."""
    server = SandboxServer("127.0.0.1", 0)
    server.add_bot(TOKEN, "outpost_test_bot", "Outpost")
    await server.start()
    try:
        yield server
        server.sandbox.assert_no_violations()
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def spawn(db: str, sandbox: SandboxServer, tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start `outpost run` processes in webhook mode on this test's database; each returns
    its webhook URL once it answers /healthz. All are stopped with SIGTERM at the end."""
    started: list[asyncio.subprocess.Process] = []

    async def start(name: str) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OUTPOST_TELEGRAM_TOKEN": TOKEN,
            "OUTPOST_TELEGRAM_API_URL": sandbox.url,
            "OUTPOST_DATABASE_URL": db,
            "OUTPOST_WEB_HOST": "127.0.0.1",
            "OUTPOST_WEB_PORT": str(port),
            "OUTPOST_WEBHOOK": "1",
            "OUTPOST_PUBLIC_URL": url,
            "OUTPOST_WEBHOOK_SECRET": SECRET,
        }
        log = (tmp_path / f"{name}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        log.close()
        started.append(process)
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{url}/healthz") as response:
                        if response.status == 200:
                            return f"{url}/telegram/webhook"
                except aiohttp.ClientError:
                    pass
                if process.returncode is not None:
                    break
                await asyncio.sleep(0.1)  # waiting for a process to start, not for time
        raise AssertionError((tmp_path / f"{name}.log").read_text())

    yield start
    for process in started:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        await asyncio.wait_for(process.wait(), 30)


async def test_answers_alternating_between_two_processes_make_one_request(
    sandbox: SandboxServer, spawn: Spawn
) -> None:
    """/leave to A, the first day to B, the last day to A, the reason to B, Send to A: one
    request filed, with the answers given to both."""
    await lagos_with((4001, "Amina", Role.STAFF, "en"), (4002, "Zhang", Role.HEAD, "en"))
    first, second = await spawn("a"), await spawn("b")
    account = sandbox.sandbox.bots[TOKEN]
    amina = sandbox.add_person(4001, "Amina", "en")
    sandbox.add_person(4002, "Zhang", "en")

    def to(url: str) -> None:
        account.webhook = WebhookConfig(url=url, secret_token=SECRET)
        account.signal.notify()

    async def next_question() -> ChatMessage:
        return await amina.wait_for_message(timeout=15)

    to(first)
    amina.send_command("leave")
    start = await next_question()
    to(second)
    await amina.press(start.button_texts[1], start).wait_answer(timeout=15)  # tomorrow
    end = await next_question()
    to(first)
    await amina.press(end.button_texts[1], end).wait_answer(timeout=15)  # two days
    assert (await next_question()).raw_text == "What is the reason? (up to 1,000 characters)"
    to(second)
    amina.send_text("family visit")
    summary = await next_question()
    assert text_of(summary).startswith("Please check your leave request")
    to(first)
    await amina.press("📨 Send", summary).wait_answer(timeout=15)
    assert "was sent" in text_of(await next_question())

    leave = await LeaveRequest.get()
    assert (leave.end_date - leave.start_date).days == 1
    assert (leave.reason, leave.status) == ("family visit", RequestStatus.PENDING)
    assert not await Conversation.exists()
