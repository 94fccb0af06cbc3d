"""/healthz: is this instance able to serve?"""

from __future__ import annotations

from aiohttp import web

from handlers.web.keys import VERSION
from services.system import database_ok


async def healthz(request: web.Request) -> web.Response:
    """200 with {"status": "ok"} when the database answers, else 503."""
    healthy = await database_ok()
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if healthy else "unreachable",
        "version": request.app[VERSION],
    }
    return web.json_response(body, status=200 if healthy else 503)
