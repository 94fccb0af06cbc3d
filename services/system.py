"""Health of the parts Outpost depends on."""

from __future__ import annotations

import logging

from tortoise.exceptions import BaseORMException

from db.models import Station

logger = logging.getLogger(__name__)


async def database_ok() -> bool:
    """True when the database answers a query."""
    try:
        await Station.all().limit(1).values_list("id", flat=True)
    except (BaseORMException, OSError):
        logger.exception("database health check failed")
        return False
    return True
