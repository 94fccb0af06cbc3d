"""`outpost run` with no token: the sandbox demo starts, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_sandbox_demo_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The README's first command: migrate itself, print the chat address, /healthz, SIGTERM."""
    web, sandbox = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTPOST_")}
    env.update(
        {
            "OUTPOST_WEB_PORT": str(web),
            "OUTPOST_SANDBOX_PORT": str(sandbox),
            "PYTHONPATH": str(ROOT),
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("Outpost "), lines
        assert f"http://127.0.0.1:{sandbox}/chat" in lines[2]
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/healthz", timeout=10) as resp:
            assert json.load(resp)["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{sandbox}/chat", timeout=10) as resp:
            assert resp.status == 200
        assert (tmp_path / "var" / "sandbox.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
