"""Migrations: they build every table on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import connections
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from db.config import is_sqlite, tortoise_config
from db.database import (
    DatabaseNotMigrated,
    apply_migrations,
    close_database,
    known_migrations,
    open_database,
    pending_migrations,
    require_migrated,
)
from tests.conftest import _admin_execute, _with_database, on_postgres, table_names

ROOT = Path(__file__).resolve().parents[2]


async def _tables() -> set[str]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        _, rows = await connection.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
        return {row["name"] for row in rows}
    _, rows = await connection.execute_query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    return {row["tablename"] for row in rows}


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all, on this run's backend."""
    base = os.environ.get("OUTPOST_TEST_DATABASE_URL", "")
    if not on_postgres():
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    name = f"outpost_empty_{os.getpid()}_{tmp_path.name[-8:]}".replace("-", "_").lower()
    await _admin_execute(base, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(base, name)
    finally:
        await _admin_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_migrations_build_every_table(empty_database: str) -> None:
    """On an empty database: everything pending, then applied, then nothing pending."""
    await open_database(empty_database, shared=False)
    try:
        assert await pending_migrations() == known_migrations()
        with pytest.raises(DatabaseNotMigrated, match="outpost migrate"):
            await require_migrated()
        assert await apply_migrations() == known_migrations()
        assert await pending_migrations() == []
        await require_migrated()
        assert set(table_names()) <= await _tables()
        # Applying again is a no-op.
        assert await apply_migrations() == []
    finally:
        await close_database()


async def test_models_have_no_unmigrated_changes() -> None:
    """A model change without its migration fails here: run makemigrations."""
    config = tortoise_config("sqlite://:memory:")
    async with tortoise_cli_context(config) as ctx:
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    hint = "models changed: run python -m tortoise -c db.config.TORTOISE_ORM makemigrations"
    assert writers == [], hint


def _outpost(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OUTPOST_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_migrate_then_run_refuses_nothing(empty_database: str, tmp_path: Path) -> None:
    """`outpost migrate` migrates; a second call says it is up to date."""
    env = {"OUTPOST_DATABASE_URL": empty_database, "PYTHONPATH": str(ROOT)}
    first = _outpost("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_initial" in first.stdout
    second = _outpost("migrate", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


def test_run_refuses_an_unmigrated_database(empty_database: str, tmp_path: Path) -> None:
    """With a token and no auto-migration, start-up stops and says to run `outpost migrate`."""
    env = {
        "OUTPOST_DATABASE_URL": empty_database,
        "OUTPOST_TELEGRAM_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "OUTPOST_TELEGRAM_API_URL": "http://127.0.0.1:9",
        "PYTHONPATH": str(ROOT),
    }
    result = _outpost("run", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "run `outpost migrate` first" in result.stderr
    if is_sqlite(empty_database):
        assert Path(empty_database.split("://", 1)[1]).exists()


def test_cli_reports_bad_configuration(tmp_path: Path) -> None:
    """A bad variable stops the CLI with exit code 2 and the variable's name."""
    result = _outpost(
        "migrate", env={"OUTPOST_WEB_PORT": "99999", "PYTHONPATH": str(ROOT)}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "OUTPOST_WEB_PORT" in result.stderr


def test_cli_version(tmp_path: Path) -> None:
    """`outpost version` prints the version."""
    result = _outpost("version", env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("outpost ")
