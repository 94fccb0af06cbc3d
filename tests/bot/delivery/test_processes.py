"""Worker processes: killed mid-batch and restarted, and two at once on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.delivery.config import WorkerConfig
from bot.sandbox import SandboxServer
from db.enums import DeliveryStatus, Lane
from db.models import OutboxMessage
from db.outbox import claim_due
from services.clock import ManualClock, SystemClock
from tests.conftest import on_postgres

from .conftest import TOKEN, PeopleFactory, ServiceFactory, queue, until

ROOT = Path(__file__).resolve().parents[3]

Spawn = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest_asyncio.fixture
async def spawn(db: str, server: SandboxServer, tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start `python -m bot.delivery` workers on this test's database and sandbox."""
    started: list[asyncio.subprocess.Process] = []

    async def start(worker_id: str, *extra: str) -> asyncio.subprocess.Process:
        log = (tmp_path / f"{worker_id}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.delivery",
            "--database-url",
            db,
            "--api-url",
            server.url,
            "--token",
            TOKEN,
            "--worker-id",
            worker_id,
            *extra,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        log.close()
        started.append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.strip() == b"ready", (tmp_path / f"{worker_id}.log").read_text()
        return process

    yield start
    for process in started:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _received(server: SandboxServer, telegram_ids: list[int]) -> dict[int, int]:
    return {tid: len(server.sandbox.person(tid).messages) for tid in telegram_ids}


async def test_killed_worker_is_replaced_and_every_message_goes_once(
    people: PeopleFactory,
    server: SandboxServer,
    spawn: Spawn,
    make_service: ServiceFactory,
    clock: ManualClock,
) -> None:
    """SIGKILL while sends are in flight; a new worker takes the leased rows when they expire.

    The replacement runs on the test's clock: the dead worker's leases hold until the clock
    passes them, then every message still owed goes out once.
    """
    recipients = await people(30)
    ids = [person.telegram_id for person in recipients]
    for person in recipients:
        await queue(
            person,
            f"crash-{person.id}",
            lane=Lane.BROADCAST,
            name="crash",
            clock=SystemClock(),
        )
    first = await spawn("first", "--per-second", "20", "--lease", "30", "--poll", "0.05")

    async def some_out() -> bool:
        return sum(_received(server, ids).values()) >= 8

    await until(some_out)
    # From now on the Bot API holds every send without answering: the worker has rows claimed,
    # some in flight, when it dies.
    server.sandbox.faults.add("timeout", methods=["sendMessage"], delay=60)

    async def quiet_and_recorded() -> bool:
        received = sum(_received(server, ids).values())
        sent = await OutboxMessage.filter(status=DeliveryStatus.SENT).count()
        sending = await OutboxMessage.filter(status=DeliveryStatus.SENDING).count()
        return sent == received and sending > 0

    await until(quiet_and_recorded)
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    server.sandbox.faults.clear()
    orphaned = await OutboxMessage.filter(status=DeliveryStatus.SENDING)
    assert orphaned
    assert all(str(row.claimed_by).startswith("first:") for row in orphaned)
    leases = [row.lease_until for row in orphaned if row.lease_until is not None]
    assert len(leases) == len(orphaned)

    # While the leases hold, the replacement sends only what nobody had claimed.
    clock.set(SystemClock().now())
    assert clock.now() < min(leases)
    replacement = await make_service(worker=WorkerConfig(lease_seconds=30, poll_seconds=0.05))

    async def unclaimed_sent() -> bool:
        sent = await OutboxMessage.filter(status=DeliveryStatus.SENT).count()
        return sent == len(ids) - len(orphaned)

    await until(unclaimed_sent)
    assert (
        await claim_due(now=clock.now(), token="probe:1", lease_until=max(leases), limit=len(ids))
        == []
    )
    assert {row.id for row in await OutboxMessage.filter(status=DeliveryStatus.SENDING)} == {
        row.id for row in orphaned
    }

    clock.set(max(leases) + timedelta(seconds=1))
    replacement.wake()

    async def all_sent() -> bool:
        return await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == len(ids)

    await until(all_sent)
    assert set(_received(server, ids).values()) == {1}


@pytest.mark.postgres_only
@pytest.mark.skipif(not on_postgres(), reason="two writers need PostgreSQL")
async def test_two_workers_on_postgresql_send_each_message_once(
    people: PeopleFactory, server: SandboxServer, spawn: Spawn
) -> None:
    """Two processes claim from one outbox with SKIP LOCKED: each message once, both busy."""
    recipients = await people(200)
    ids = [person.telegram_id for person in recipients]
    workers = [
        await spawn(name, "--per-second", "100", "--poll", "0.05") for name in ("one", "two")
    ]
    for person in recipients:
        await queue(
            person,
            f"two-{person.id}",
            lane=Lane.BROADCAST,
            name="two",
            clock=SystemClock(),
        )

    async def all_sent() -> bool:
        return await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == len(ids)

    await until(all_sent, within=30)
    assert set(_received(server, ids).values()) == {1}
    claimed = await OutboxMessage.all().values_list("claimed_by", flat=True)
    assert {str(token).split(":")[0] for token in claimed} == {"one", "two"}
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
        assert await worker.wait() == 0
