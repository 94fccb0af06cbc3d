"""Tortoise configuration built from a database URL."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ConfigurationError

APP_LABEL = "outpost"
MODEL_MODULES = ["db.models"]
MIGRATIONS_MODULE = "db.migrations"
SQLITE_SCHEMES = {"sqlite"}
POSTGRES_SCHEMES = {"postgres", "postgresql", "asyncpg"}


class DatabaseUrlError(ValueError):
    """The database URL cannot be used."""


def check_database_url(url: str) -> str:
    """Return the URL if Tortoise can use it, else raise DatabaseUrlError saying why."""
    url = url.strip()
    scheme = urlsplit(url).scheme
    if not scheme or "://" not in url:
        raise DatabaseUrlError("not a database URL (expected sqlite://PATH or postgres://...)")
    if scheme not in SQLITE_SCHEMES | POSTGRES_SCHEMES:
        raise DatabaseUrlError(f"unsupported database {scheme!r} (use sqlite or postgres)")
    if scheme in POSTGRES_SCHEMES:
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise DatabaseUrlError("a postgres URL needs a host and a database name")
    try:
        expand_db_url(url)
    except (ConfigurationError, ValueError) as exc:
        raise DatabaseUrlError(f"cannot be parsed: {exc}") from None
    return url


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return urlsplit(url).scheme in SQLITE_SCHEMES


def tortoise_config(url: str) -> dict[str, Any]:
    """The Tortoise config dict for one database: all times stored in UTC."""
    return {
        "connections": {"default": url},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For Tortoise's own CLI (`python -m tortoise -c db.config.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config(os.environ.get("OUTPOST_DATABASE_URL", "sqlite://:memory:"))
