"""The demo organisation `outpost run` shows when no Telegram token is set."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from bot.sandbox import DEMO_TOKEN, SandboxServer
from bot.settings import Settings
from db.enums import ContactKind, Role
from db.models import Contact, Person, PersonRole, Station

logger = logging.getLogger(__name__)


DEMO_BOT_USERNAME = "outpost_demo_bot"


@dataclass(frozen=True)
class DemoPerson:
    """Someone in the demo organisation, present both in the database and in the sandbox."""

    telegram_id: int
    name: str
    language: str
    roles: tuple[Role, ...]
    phone: str


DEMO_STATION = {
    "code": "LOS",
    "name": "Lagos service station",
    "country": "NG",
    "city": "Lagos",
    "lat": 6.4281,
    "lon": 3.4219,
    "radius_m": 300,
    "timezone": "Africa/Lagos",
}

DEMO_PEOPLE = (
    DemoPerson(100001, "Wang Lei", "zh-Hans", (Role.STAFF,), "+2348000000001"),
    DemoPerson(100002, "Amina Bello", "en", (Role.STAFF,), "+2348000000002"),
    DemoPerson(100003, "Zhang Wei", "zh-Hans", (Role.HEAD,), "+2348000000003"),
    DemoPerson(100004, "Li Na", "zh-Hans", (Role.SAFETY,), "+8613800000004"),
    DemoPerson(100005, "Chen Jie", "en", (Role.HQ,), "+8613800000005"),
)

DEMO_CONTACTS = (
    (
        ContactKind.EMBASSY,
        "Embassy (demo entry: verify before use)",
        "+234-9-0000000",
        9.0765,
        7.3986,
    ),
    (ContactKind.POLICE, "Police emergency", "112", None, None),
    (ContactKind.AMBULANCE, "Ambulance", "112", None, None),
    (ContactKind.HQ_DUTY, "MFA global consular hotline", "+86-10-12308", None, None),
)


async def seed_demo_organisation() -> None:
    """Create or refresh the demo station, people and contacts (safe to run again)."""
    station, _ = await Station.update_or_create(
        code=DEMO_STATION["code"], defaults={k: v for k, v in DEMO_STATION.items() if k != "code"}
    )
    for demo in DEMO_PEOPLE:
        person, _ = await Person.update_or_create(
            telegram_id=demo.telegram_id,
            defaults={
                "name": demo.name,
                "language": demo.language,
                "phone": demo.phone,
                "station": station,
                "active": True,
            },
        )
        for role in demo.roles:
            await PersonRole.get_or_create(person=person, role=role)
    for kind, name, phone, lat, lon in DEMO_CONTACTS:
        await Contact.update_or_create(
            country="NG",
            kind=kind,
            name=name,
            defaults={"phone": phone, "lat": lat, "lon": lon, "verified": False},
        )


SANDBOX_HOST = "127.0.0.1"


async def start_demo_sandbox(settings: Settings) -> tuple[SandboxServer, str]:
    """Start the sandbox with the demo people, seed the database; returns it and the token."""
    # Loopback only, whatever OUTPOST_WEB_HOST says: the sandbox lets anyone act as anyone.
    server = SandboxServer(SANDBOX_HOST, settings.sandbox_port)
    server.add_bot(DEMO_TOKEN, DEMO_BOT_USERNAME, "Outpost")
    await seed_demo_organisation()
    for demo in DEMO_PEOPLE:
        server.add_person(
            demo.telegram_id,
            demo.name,
            demo.language.split("-")[0].lower(),
            phone_number=demo.phone,
        )
    # A stranger, to show what someone without an invitation sees.
    server.add_person(199999, "Visitor", "en")
    try:
        await server.start()
    except OSError as exc:
        from bot.app import StartupError

        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise StartupError(
            f"cannot start the sandbox on {SANDBOX_HOST}:{settings.sandbox_port}: {reason} "
            "(set OUTPOST_SANDBOX_PORT to a free port)"
        ) from None
    logger.info("sandbox Bot API at %s", server.url)
    return server, DEMO_TOKEN
