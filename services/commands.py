"""The chat commands: who may run each, and which ones a person's menu lists.

One table for the whole bot. Every command of the Contract is here with the roles that may run
it, whether its feature has shipped or not: it is refused to people without those roles already,
and it joins their menus as soon as a handler for it is registered (the wiring makes one
`CommandBook` from the registered command names).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from db.enums import Role
from i18n import N_, translate

EVERYONE_REGISTERED: frozenset[Role] = frozenset(Role)
HEADS = frozenset({Role.HEAD, Role.ADMIN})
# The duty roster is a station's own matter, kept by its head (services.duty): an admin runs
# Outpost, not a station, and is neither offered /duty nor its buttons.
STATION_HEADS = frozenset({Role.HEAD})
HQ_AND_SAFETY = frozenset({Role.HQ, Role.SAFETY, Role.ADMIN})


@dataclass(frozen=True)
class CommandSpec:
    """One chat command: its name and who may run it."""

    name: str
    roles: frozenset[Role]
    description: str  # msgid

    def allowed(self, roles: Iterable[Role]) -> bool:
        """True when someone holding `roles` may run the command."""
        return bool(self.roles.intersection(roles))


def _spec(name: str, roles: frozenset[Role]) -> CommandSpec:
    return CommandSpec(name, roles, f"command.{name}")


# In menu order. Descriptions are msgids `command.<name>`.
COMMANDS: tuple[CommandSpec, ...] = (
    _spec("start", EVERYONE_REGISTERED),
    _spec("help", EVERYONE_REGISTERED),
    _spec("checkin", EVERYONE_REGISTERED),
    _spec("leave", EVERYONE_REGISTERED),
    _spec("outing", EVERYONE_REGISTERED),
    _spec("back", EVERYONE_REGISTERED),
    _spec("late", EVERYONE_REGISTERED),
    _spec("sos", EVERYONE_REGISTERED),
    _spec("report", EVERYONE_REGISTERED),
    _spec("plan", EVERYONE_REGISTERED),
    _spec("quality", EVERYONE_REGISTERED),
    _spec("security", EVERYONE_REGISTERED),
    _spec("expense", EVERYONE_REGISTERED),
    _spec("expenses", EVERYONE_REGISTERED),
    _spec("contacts", EVERYONE_REGISTERED),
    _spec("language", EVERYONE_REGISTERED),
    _spec("web", EVERYONE_REGISTERED),
    _spec("outings", HEADS | HQ_AND_SAFETY),
    _spec("approvals", HEADS),
    _spec("attendance", HEADS | HQ_AND_SAFETY),
    _spec("duty", STATION_HEADS),
    _spec("budget", HEADS),
    _spec("alert", HQ_AND_SAFETY),
    _spec("incidents", HQ_AND_SAFETY),
    _spec("cancel", EVERYONE_REGISTERED),
)
BY_NAME = {spec.name: spec for spec in COMMANDS}
# What people who are not registered see in the menu (the default scope).
PUBLIC_COMMANDS = ("start", "help")

_DESCRIPTIONS = (
    N_("command.start"),
    N_("command.help"),
    N_("command.checkin"),
    N_("command.leave"),
    N_("command.outing"),
    N_("command.back"),
    N_("command.late"),
    N_("command.sos"),
    N_("command.report"),
    N_("command.plan"),
    N_("command.quality"),
    N_("command.security"),
    N_("command.expense"),
    N_("command.expenses"),
    N_("command.contacts"),
    N_("command.language"),
    N_("command.web"),
    N_("command.outings"),
    N_("command.approvals"),
    N_("command.attendance"),
    N_("command.duty"),
    N_("command.budget"),
    N_("command.alert"),
    N_("command.incidents"),
    N_("command.cancel"),
)


def public_menu(language: str) -> list[tuple[str, str]]:
    """The menu of everyone who is not registered."""
    return [(name, translate(language, f"command.{name}")) for name in PUBLIC_COMMANDS]


class CommandBook:
    """The commands this bot has handlers for: what menus list and what the gate lets through.

    Made once by the wiring from the registered handlers (no module-level state: two
    applications in one process, as in tests, each have their own).
    """

    def __init__(self, built: Iterable[str]) -> None:
        self.built = frozenset(built)

    def is_built(self, command: str) -> bool:
        """True when a handler for the command is registered."""
        return command in self.built

    def commands_for(self, roles: Iterable[Role]) -> list[CommandSpec]:
        """The built commands someone with `roles` may run, in menu order."""
        held = frozenset(roles)
        return [spec for spec in COMMANDS if spec.name in self.built and spec.allowed(held)]

    def menu(self, roles: Iterable[Role], language: str) -> list[tuple[str, str]]:
        """(command, description) pairs of a person's menu, described in their language."""
        return [
            (spec.name, translate(language, spec.description)) for spec in self.commands_for(roles)
        ]

    def menu_key(self, roles: Iterable[Role], language: str) -> str:
        """A short fingerprint of a menu: when it changes the menu is published again."""
        names = ",".join(spec.name for spec in self.commands_for(roles))
        digest = hashlib.sha256(f"{language}|{names}".encode()).hexdigest()[:16]
        return f"{language[:16]}:{digest}"


def may_run(command: str, roles: Iterable[Role]) -> bool:
    """False when `command` is reserved to roles the person lacks (unknown commands: True)."""
    spec = BY_NAME.get(command)
    return spec is None or spec.allowed(roles)
