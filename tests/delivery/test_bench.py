"""The delivery benchmark still runs (a tiny size; the figures are not judged here)."""

from __future__ import annotations

from pathlib import Path

from bench.delivery import TOKEN, Sizes, run
from bot.sandbox import SandboxServer
from bot.sandbox.limits import FloodLimits


async def test_benchmark_runs_on_a_tiny_size(tmp_path: Path) -> None:
    """Every figure is produced against an in-process sandbox."""
    sizes = Sizes(broadcast=20, paid_broadcast=30, emergencies=3, backend_requests=32)
    server = SandboxServer(limits=FloodLimits())
    server.add_bot(TOKEN, "bench_bot")
    await server.start()
    try:
        figures = await run(server.url, f"sqlite://{tmp_path}/bench.sqlite3", sizes)
    finally:
        await server.stop()
    assert {"share_30", "share_1000", "429s", "emergency_p99_ms", "backend_ratio"} <= set(
        figures.values
    )
    assert figures.values["429s"] == 0
