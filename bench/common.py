"""What the benchmarks share: a sandbox in its own process, a fresh database, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db.config import is_sqlite
from db.database import apply_migrations, close_database, open_database

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = "postgres://postgres:postgres@127.0.0.1:5432/outpost_bench"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def sandbox_process(bots: dict[str, str], *extra: str) -> Iterator[str]:
    """`python -m bot.sandbox` with these bots (token → username) in its own process."""
    port = free_port()
    args = [sys.executable, "-m", "bot.sandbox", "--port", str(port), *extra]
    for token, username in bots.items():
        args += ["--bot", f"{token}={username}"]
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()  # the first line is printed once it listens
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def _dsn(url: str, database: str) -> str:
    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    return urlunsplit(parts._replace(path="/" + database))


@contextlib.asynccontextmanager
async def fresh_database(url: str, folder: Path) -> AsyncIterator[str]:
    """A new, migrated, open database for one run: a SQLite file in `folder`, or a PostgreSQL
    database dropped afterwards."""
    async with contextlib.AsyncExitStack() as stack:
        if is_sqlite(url):
            target = f"sqlite://{folder / 'bench.sqlite3'}"
        else:
            name = f"{urlsplit(url).path.strip('/') or 'outpost_bench'}_{secrets.token_hex(4)}"
            target = urlunsplit(urlsplit(url)._replace(path="/" + name))
            admin = await asyncpg.connect(_dsn(url, "postgres"))
            stack.push_async_callback(admin.close)
            await admin.execute(f'CREATE DATABASE "{name}"')
            stack.push_async_callback(
                admin.execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            )
        await open_database(target, shared=True)
        stack.push_async_callback(close_database)
        await apply_migrations()
        yield target


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def run(main: object) -> None:
    """asyncio.run for a benchmark's coroutine."""
    asyncio.run(main)  # type: ignore[arg-type]
