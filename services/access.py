"""Who may go on: one decision per update, from the database, before any handler runs.

The gate describes what an update asks for (a `Knock`) and gets one `Admission` back: go on,
refuse with a reason, repeat the registration step, or drop without a word. Who the sender is,
what their roles allow and where they are in registering are read here in one query; the
button's kind is checked against the codec's role table. The service behind the handler then
checks the object itself, whatever the button or command says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from db.models import Person
from services.callbacks import Button, MalformedCallback, decode
from services.commands import BY_NAME, CommandBook, may_run
from services.people import Actor, Standing, access


@dataclass(frozen=True)
class Knock:
    """What an update asks for, as far as the gate cares."""

    telegram_id: int
    telegram_language: str | None = None
    private_chat: bool = True
    # A new message (not an edit); `command` is its /command without @bot, lower case.
    message: bool = False
    command: str | None = None
    command_has_args: bool = False
    contact: bool = False
    # An edited message other than a live location's move: never run again.
    edited_text: bool = False
    callback: bool = False
    callback_data: str | None = None


class Verdict(StrEnum):
    """What the gate does with the update."""

    PASS = "pass"  # noqa: S105 - the handlers take it
    REFUSE = "refuse"  # answer with `msgid` and stop
    PROMPT = "prompt"  # repeat the registration step the person is at, and stop
    DROP = "drop"  # stop without a word (a pressed button is still answered)


@dataclass(frozen=True)
class Admission:
    """The gate's one answer about an update."""

    verdict: Verdict
    language: str | None
    msgid: str | None = None
    actor: Actor | None = None
    person: Person | None = None  # set for registered and registering people
    button: Button | None = None


async def admit(knock: Knock, *, commands: CommandBook) -> Admission:
    """Decide whether an update goes on to the handlers, and what to say if it does not."""
    if not knock.private_chat:
        # Outpost talks to each person alone: nothing personal may land in a group, and a
        # location shared there is not a check-in. A command or a button gets one line.
        if knock.callback or knock.command is not None:
            return Admission(Verdict.REFUSE, knock.telegram_language, "chat.private_only")
        return Admission(Verdict.DROP, knock.telegram_language)
    if knock.edited_text:
        return Admission(Verdict.DROP, knock.telegram_language)
    state = await access(knock.telegram_id)
    button: Button | None = None
    malformed = False
    if knock.callback:
        try:
            button = decode(knock.callback_data)
        except MalformedCallback:
            malformed = True
    if state.standing == Standing.REGISTERED:
        assert state.actor is not None
        return _registered(knock, state.actor, button, malformed, commands)
    if state.standing == Standing.REGISTERING:
        assert state.person is not None
        person = state.person
        if (
            knock.contact
            or knock.command == "start"
            or (button is not None and button.WHILE_REGISTERING)
        ):
            return Admission(Verdict.PASS, person.language, person=person, button=button)
        if knock.callback:
            return Admission(Verdict.REFUSE, person.language, "button.refused", person=person)
        return Admission(Verdict.PROMPT, person.language, person=person)
    # Unknown or deactivated: only an invitation link opens the door.
    if knock.command == "start" and knock.command_has_args:
        return Admission(Verdict.PASS, knock.telegram_language)
    if knock.callback or knock.message:
        return Admission(Verdict.REFUSE, knock.telegram_language, "start.unregistered")
    return Admission(Verdict.DROP, knock.telegram_language)


def _registered(
    knock: Knock, actor: Actor, button: Button | None, malformed: bool, commands: CommandBook
) -> Admission:
    def refuse(msgid: str) -> Admission:
        return Admission(Verdict.REFUSE, actor.language, msgid, actor=actor, person=actor.person)

    if knock.command is not None:
        if not may_run(knock.command, actor.roles):
            return refuse("error.not_allowed")
        if not commands.is_built(knock.command):
            known = knock.command in BY_NAME
            return refuse("command.not_available" if known else "help.unknown_command")
    if knock.callback:
        if malformed or button is None:
            return refuse("button.refused")
        if not button.may_press(actor.roles):
            return refuse("error.not_allowed")
    return Admission(Verdict.PASS, actor.language, actor=actor, person=actor.person, button=button)
