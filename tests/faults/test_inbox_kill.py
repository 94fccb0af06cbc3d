"""SIGKILL at random moments of a burst, in polling mode: no update is lost, none is handled
twice, every person is answered.

Outpost and the sandbox Bot API each run as a process of their own, as in production: the
sandbox keeps every update Outpost has not confirmed (getUpdates with a higher offset), and
Outpost is killed, started again, killed... while twenty people send /help.

Handling is exactly once: one inbox row handled and one reply row per update, whatever the
moment of the kill. Sending is exactly once except in one window no software can close: a
reply Telegram accepted in the milliseconds before the outbox committed that it was sent is
sent again after the restart (Telegram has no idempotency key). So an answer may come twice
only if its outbox row was held, unsettled, by the process at the moment it was killed: the
test counts those rows after each kill and allows no more extra answers than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio

from bench.common import ROOT, free_port, sandbox_process
from db.enums import DeliveryStatus, InboxStatus
from db.models import InboundUpdate, OutboxMessage
from tests.e2e.conftest import eventually

TOKEN = "7100000009:FAULT-kill-token-not-for-telegram0000"
BOT = "outpost_kill_bot"
PEOPLE = [810_000 + i for i in range(20)]
KILLED_ROUNDS = 4
START_SECONDS = 30.0
FINISH_SECONDS = 30.0


async def _api(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body) as response:
        response.raise_for_status()
        return await response.json()


class OutpostProcess:
    """`python -m bot.cli run` against the sandbox, started and killed at will."""

    def __init__(self, api_url: str, database_url: str, log: Path) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OUTPOST_TELEGRAM_TOKEN": TOKEN,
            "OUTPOST_TELEGRAM_API_URL": api_url,
            "OUTPOST_DATABASE_URL": database_url,
            "OUTPOST_WEB_HOST": "127.0.0.1",
            "OUTPOST_WEB_PORT": str(free_port()),
            "OUTPOST_AUTO_MIGRATE": "0",
            # Messages claimed by a killed process are taken again after this.
            "OUTPOST_DELIVERY_LEASE_SECONDS": "1",
            "OUTPOST_LOG_LEVEL": "WARNING",
        }
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start it and wait until it takes updates."""
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                cwd=ROOT,
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        async with asyncio.timeout(START_SECONDS):
            line = await self.process.stdout.readline()
        assert b"is running" in line, self.log.read_text()[-3000:]

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, as an operator would."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await self.process.wait()


@pytest_asyncio.fixture
async def sandbox_url() -> AsyncIterator[str]:
    """The sandbox Bot API in its own process, flood limits off, with the twenty people."""
    with sandbox_process({TOKEN: BOT}, "--no-limits") as url:
        async with aiohttp.ClientSession() as http:
            for user_id in PEOPLE:
                await _api(
                    http,
                    "POST",
                    f"{url}/sandbox/api/people",
                    {"user_id": user_id, "first_name": f"P{user_id}"},
                )
        yield url


async def _answers(http: aiohttp.ClientSession, url: str) -> dict[int, int]:
    """How many messages the bot sent to each person."""
    counts = {}
    for user_id in PEOPLE:
        chat = await _api(http, "GET", f"{url}/sandbox/api/chat?user_id={user_id}&bot={BOT}")
        counts[user_id] = sum(1 for m in chat["messages"] if m["from_bot"])
    return counts


async def _outbox_drained() -> bool:
    return not await OutboxMessage.exclude(status=DeliveryStatus.SENT).exists()


async def _all_answered(http: aiohttp.ClientSession, url: str, sent: int) -> bool:
    return min((await _answers(http, url)).values()) >= sent


async def test_killed_at_random_moments_loses_nothing_and_answers_once(
    db: str, sandbox_url: str, tmp_path: Path
) -> None:
    """Four rounds of (start, burst of /help, SIGKILL after 0-400 ms), then a clean run: one
    handled inbox row and one reply row per update, every update answered."""
    rng = random.Random(20261202)
    outpost = OutpostProcess(sandbox_url, db, tmp_path / "outpost.log")
    burst = {"bot": BOT, "user_ids": PEOPLE, "text": "/help"}
    in_doubt = 0  # replies a killed process held, sent or not: nobody can know
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(KILLED_ROUNDS):
                await outpost.start()
                await _api(http, "POST", f"{sandbox_url}/sandbox/api/burst", burst)
                await asyncio.sleep(rng.uniform(0.0, 0.4))  # a random moment to kill at
                await outpost.kill()
                in_doubt += await OutboxMessage.filter(status=DeliveryStatus.SENDING).count()
            await outpost.start()
            sent = KILLED_ROUNDS
            # Every person answered, and every reply row delivered (a reply sent again after a
            # kill can make a person's count complete before their last reply went out).
            await eventually(lambda: _all_answered(http, sandbox_url, sent), FINISH_SECONDS)
            await eventually(_outbox_drained, FINISH_SECONDS)
            await outpost.stop()
            answers = await _answers(http, sandbox_url)
    finally:
        with contextlib.suppress(ProcessLookupError):
            await outpost.stop()
    rows = await InboundUpdate.all()
    assert len(rows) == len(PEOPLE) * sent
    assert {row.status for row in rows} == {InboxStatus.HANDLED}
    assert sorted(row.sender_id for row in rows) == sorted(PEOPLE * sent)
    replies = await OutboxMessage.all()
    assert len(replies) == len(rows)
    assert {reply.status for reply in replies} == {DeliveryStatus.SENT}
    assert len({reply.idempotency_key for reply in replies}) == len(rows)
    log = (tmp_path / "outpost.log").read_text()[-3000:]
    assert all(count >= sent for count in answers.values()), (answers, log)
    extra = sum(answers.values()) - len(PEOPLE) * sent
    print(f"answers sent again after a kill: {extra} (replies held at a kill: {in_doubt})")
    assert extra <= in_doubt, (answers, log)
