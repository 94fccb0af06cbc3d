"""Headless Chromium for browser tests: Debian's package, no browser download, no network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("OUTPOST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# Without the background-networking flags Chromium tries to reach Google's hosts at start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; fail in CI, which must install it."""
    if shutil.which(CHROMIUM):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        return
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's chromium (scripts/test does)")
    pytest.skip("system Chromium not installed")
