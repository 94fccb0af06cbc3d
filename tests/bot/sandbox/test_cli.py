"""The sandbox runs as its own process: python -m bot.sandbox."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from bot.sandbox import DEMO_TOKEN

from .tinybot import HttpClient

ROOT = Path(__file__).resolve().parents[3]


async def test_separate_process_serves_the_bot_api() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        "--person",
        "42:Dana:fr",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode()
        match = re.search(r"(http://[\d.]+:\d+)/bot", line)
        assert match, line
        url = match.group(1)
        async with HttpClient() as http:
            async with http.post(f"{url}/bot{DEMO_TOKEN}/getMe") as response:
                assert (await response.json())["result"]["is_bot"] is True
            async with http.post(
                f"{url}/bot{DEMO_TOKEN}/sendMessage", json={"chat_id": 42, "text": "Bonjour"}
            ) as response:
                assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
