"""Shared fixtures: a fresh migrated database (SQLite or PostgreSQL) and a movable clock.

The database comes from OUTPOST_TEST_DATABASE_URL: unset, each test gets its own SQLite file
copied from one migrated template; a postgres:// URL names a server and a database prefix, and
the run makes its own database (prefix + a random suffix), migrates it once, empties its tables
before each test and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# PTB 22 warns about its timedelta migration unless told which behaviour to use.
os.environ.setdefault("PTB_TIMEDELTA", "1")

import asyncpg
import pytest
import pytest_asyncio

from db import models
from db.config import is_sqlite
from db.database import apply_migrations, close_database, open_database
from services.clock import ManualClock

TEST_DATABASE_ENV = "OUTPOST_TEST_DATABASE_URL"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _dsn(url: str) -> str:
    """The URL as asyncpg wants it."""
    return url.replace("postgres://", "postgresql://", 1)


async def _admin_execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_dsn(_with_database(url, "postgres")))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _migrate(url: str) -> None:
    await open_database(url, shared=False)
    try:
        await apply_migrations()
    finally:
        await close_database()


def table_names() -> list[str]:
    """Every Outpost table, for emptying between tests."""
    return [getattr(models, name)._meta.db_table for name in models.__all__]


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this run: a SQLite file to copy, or a PostgreSQL database."""
    base = os.environ.get(TEST_DATABASE_ENV, "").strip()
    if not base or is_sqlite(base):
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        url = f"sqlite://{path}"
        asyncio.run(_migrate(url))
        yield url
        return
    prefix = urlsplit(base).path.strip("/") or "outpost_test"
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    url = _with_database(base, name)
    asyncio.run(_admin_execute(base, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(_admin_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest_asyncio.fixture
async def database_url(database_template: str, tmp_path: Path) -> str:
    """A URL of an empty, migrated database for one test (not yet opened)."""
    if is_sqlite(database_template):
        path = tmp_path / "outpost.sqlite3"
        shutil.copyfile(database_template.split("://", 1)[1], path)
        return f"sqlite://{path}"
    tables = ", ".join(f'"{name}"' for name in table_names())
    connection = await asyncpg.connect(_dsn(database_template))
    try:
        await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    return database_template


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """Tortoise connected to an empty, migrated database; yields its URL."""
    await open_database(database_url)
    try:
        yield database_url
    finally:
        await close_database()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that stands still until the test moves it (Monday 2026-01-05 09:00 UTC)."""
    return ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


def on_postgres() -> bool:
    """True when this run's database is PostgreSQL."""
    base = os.environ.get(TEST_DATABASE_ENV, "").strip()
    return bool(base) and not is_sqlite(base)
