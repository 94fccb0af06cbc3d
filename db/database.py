"""Opening, closing and migrating the database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.loader import MigrationLoader

from db.config import APP_LABEL, is_sqlite, tortoise_config

logger = logging.getLogger(__name__)


class DatabaseNotMigrated(RuntimeError):
    """The database lacks migrations that this version of Outpost needs."""

    def __init__(self, pending: list[str]) -> None:
        self.pending = pending
        super().__init__(
            f"the database is missing {len(pending)} migration(s) ({', '.join(pending)}): "
            "run `outpost migrate` first"
        )


def _ensure_sqlite_folder(url: str) -> None:
    if not is_sqlite(url):
        return
    path = url.split("://", 1)[1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


async def open_database(url: str, *, shared: bool = True) -> None:
    """Connect Tortoise to `url`; `shared` lets tasks started elsewhere (aiohttp) use it."""
    _ensure_sqlite_folder(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=shared)


async def close_database() -> None:
    """Close every connection Tortoise holds."""
    await Tortoise.close_connections()


def _executor() -> MigrationExecutor:
    config = tortoise_config("sqlite://:memory:")["apps"]
    return MigrationExecutor(get_connection("default"), config)


async def pending_migrations() -> list[str]:
    """Names of the migrations not yet applied to the open database."""
    steps = await _executor().plan()
    return [step.migration.name for step in steps if not step.backward]


async def apply_migrations(progress: Callable[[str], None] | None = None) -> list[str]:
    """Apply every pending migration to the open database; returns their names."""
    executor = _executor()
    pending = [step.migration.name for step in await executor.plan() if not step.backward]

    def report(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            logger.info("migration %s.%s applied", app_label, name)
            if progress is not None:
                progress(name)

    await executor.migrate(progress=report)
    return pending


async def require_migrated() -> None:
    """Raise DatabaseNotMigrated when the open database is behind."""
    pending = await pending_migrations()
    if pending:
        raise DatabaseNotMigrated(pending)


def known_migrations() -> list[str]:
    """The migrations shipped with this version, oldest first."""
    loader = MigrationLoader(
        tortoise_config("sqlite://:memory:")["apps"],
        None,  # type: ignore[arg-type]
        load=False,
    )
    loader.load_disk()
    return sorted(key.name for key in loader.disk_migrations if key.app_label == APP_LABEL)
