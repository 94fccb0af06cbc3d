"""The delivery benchmark still runs (a tiny size; the figures are not judged here)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bench.delivery import TOKEN
from bot.sandbox import SandboxServer
from bot.sandbox.limits import FloodLimits

ROOT = Path(__file__).resolve().parents[3]


async def test_benchmark_runs_on_a_tiny_size(tmp_path: Path) -> None:
    """Every figure line is printed, with no 429, against an in-process sandbox."""
    server = SandboxServer(limits=FloodLimits())
    server.add_bot(TOKEN, "bench_bot")
    await server.start()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.delivery",
            "--sizes",
            "20,30,3,32",
            "--sandbox-url",
            server.url,
            "--database-url",
            f"sqlite://{tmp_path}/b.sqlite3",
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await server.stop()
    text = output.decode()
    assert process.returncode == 0, text
    for label in (
        "rate share 30/s:",
        "rate share 1000/s:",
        "429s: 0",
        "emergency delay p99:",
        "backend ratio:",
    ):
        assert label in text, text
