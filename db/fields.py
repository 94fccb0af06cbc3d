"""Field types Tortoise lacks on every backend."""

from __future__ import annotations

from datetime import time
from typing import Any

from tortoise.fields import CharField


class WallTimeField(CharField):
    """A wall-clock time of day (08:30), stored as 'HH:MM:SS' text on every database.

    Tortoise's TimeField cannot bind `datetime.time` on SQLite, so times of day are kept as
    fixed-width text, which also sorts correctly.
    """

    field_type = time  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        super().__init__(max_length=8, **kwargs)

    def to_db_value(self, value: Any, instance: Any) -> str | None:
        """time(8, 30) → '08:30:00'."""
        if value is None:
            return None
        if isinstance(value, str):
            value = time.fromisoformat(value)
        if not isinstance(value, time):
            raise TypeError(f"expected a time of day, got {type(value).__name__}")
        if value.tzinfo is not None:
            raise ValueError("a wall-clock time carries no time zone: the station has it")
        return value.replace(microsecond=0).isoformat()

    def to_python_value(self, value: Any) -> time | None:
        """'08:30:00' → time(8, 30)."""
        if value is None or isinstance(value, time):
            return value
        return time.fromisoformat(str(value))
