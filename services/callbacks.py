"""Inline buttons' callback data: one codec for every button, and who may press each kind.

A button carries `<prefix>:<field>:<field>...`, where the prefix names the kind of button and
the version of its layout (`lv1`: leave decision, layout 1). Built from a typed payload and
checked when built (ids within the range of the primary key they name, tokens short and plain,
dates real, the whole at most 64 bytes); parsed back into the same payload or refused as
malformed. Data this codec does not know (an old layout, another bot's, a forged one) is refused
by default.

The data is only a pointer: it names an object and an intention, never a decision the server
trusts. The role table below lets the gate refuse a press early; the service that acts on the
press checks the actor against the object in the database whatever the button says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import ClassVar, TypeVar

from db.enums import AlertReply, Role
from services.commands import EVERYONE_REGISTERED, HEADS, HQ_AND_SAFETY, STATION_HEADS
from services.errors import InvalidInput

MAX_BYTES = 64  # Telegram's limit on callback_data
# The largest id an INTEGER primary key holds (leave requests, stations, people): a larger one
# names nothing, and PostgreSQL's driver would refuse it as a query argument. A kind pointing at
# a BIGINT key (the outbox, the audit log) would use MAX_BIG_ID.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1
SEPARATOR = ":"
_ID = re.compile(r"[1-9][0-9]{0,18}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,16}")
_VERSION = re.compile(r"0|[1-9][0-9]{0,8}")
MAX_VERSION = 10**9 - 1
_DAY = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


class MalformedCallback(InvalidInput):
    """Callback data this codec did not build, or cannot read any more."""

    msgid = "button.refused"


class CallbackTooLong(ValueError):
    """A payload whose data would not fit Telegram's 64 bytes (a programming error)."""


def _id(text: str, maximum: int = MAX_ID) -> int:
    if _ID.fullmatch(text) is None or int(text) > maximum:
        raise MalformedCallback("not an id")
    return int(text)


def _check_id(value: int, maximum: int = MAX_ID) -> str:
    if isinstance(value, bool) or not 1 <= value <= maximum:
        raise ValueError(f"id out of range: {value!r}")
    return str(value)


def _token(text: str) -> str:
    if _TOKEN.fullmatch(text) is None:
        raise MalformedCallback("not a token")
    return text


def _check_token(value: str) -> str:
    if _TOKEN.fullmatch(value) is None:
        raise ValueError(f"not a short token: {value!r}")
    return value


def _day(text: str) -> date:
    match = _DAY.fullmatch(text)
    if match is None:
        raise MalformedCallback("not a day")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise MalformedCallback("no such day") from None


def _check_day(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


@dataclass(frozen=True)
class Button:
    """A button's payload. Subclasses name their PREFIX and the ROLES that may press them."""

    PREFIX: ClassVar[str]
    ROLES: ClassVar[frozenset[Role]]
    # Also pressable by someone who opened an invitation and has not finished registering.
    WHILE_REGISTERING: ClassVar[bool] = False

    def fields(self) -> tuple[str, ...]:
        """The payload's fields as text, checked (ValueError when out of range)."""
        return ()

    @classmethod
    def parse(cls, fields: list[str]) -> Button:
        """The payload from the fields after the prefix; MalformedCallback when they are not."""
        raise NotImplementedError

    def may_press(self, roles: frozenset[Role]) -> bool:
        """True when someone holding `roles` may press this kind of button at all."""
        return bool(self.ROLES.intersection(roles))


@dataclass(frozen=True)
class LeaveVerdict(Button):
    """A decider approves or refuses a leave request."""

    PREFIX = "lv1"
    ROLES = frozenset({Role.HEAD, Role.HQ, Role.ADMIN})

    leave_id: int
    approve: bool

    def fields(self) -> tuple[str, ...]:
        return ("a" if self.approve else "r", _check_id(self.leave_id))

    @classmethod
    def parse(cls, fields: list[str]) -> LeaveVerdict:
        """From `a|r`, id."""
        verdict, leave_id = _exactly(fields, 2)
        if verdict not in ("a", "r"):
            raise MalformedCallback("not a verdict")
        return cls(leave_id=_id(leave_id), approve=verdict == "a")


@dataclass(frozen=True)
class LeaveWithdraw(Button):
    """A requester withdraws their own pending leave request."""

    PREFIX = "lw1"
    ROLES = EVERYONE_REGISTERED

    leave_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.leave_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> LeaveWithdraw:
        """From the leave's id."""
        (leave_id,) = _exactly(fields, 1)
        return cls(leave_id=_id(leave_id))


@dataclass(frozen=True)
class LeaveNew(Button):
    """Start a new leave request from the list of one's own."""

    PREFIX = "ln1"
    ROLES = EVERYONE_REGISTERED

    @classmethod
    def parse(cls, fields: list[str]) -> LeaveNew:
        """No fields."""
        _exactly(fields, 0)
        return cls()


@dataclass(frozen=True)
class DutyDay(Button):
    """A head picks a day of the duty roster."""

    PREFIX = "dd1"
    ROLES = STATION_HEADS

    day: date

    def fields(self) -> tuple[str, ...]:
        return (_check_day(self.day),)

    @classmethod
    def parse(cls, fields: list[str]) -> DutyDay:
        """From the day as YYYYMMDD."""
        (day,) = _exactly(fields, 1)
        return cls(day=_day(day))


@dataclass(frozen=True)
class DutyPick(Button):
    """A head puts a person on duty for a day."""

    PREFIX = "ds1"
    ROLES = STATION_HEADS

    day: date
    person_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_day(self.day), _check_id(self.person_id))

    @classmethod
    def parse(cls, fields: list[str]) -> DutyPick:
        """From the day as YYYYMMDD and the person's id."""
        day, person_id = _exactly(fields, 2)
        return cls(day=_day(day), person_id=_id(person_id))


@dataclass(frozen=True)
class DutyClear(Button):
    """A head clears a day of the duty roster (nobody on duty)."""

    PREFIX = "dc1"
    ROLES = STATION_HEADS

    day: date

    def fields(self) -> tuple[str, ...]:
        return (_check_day(self.day),)

    @classmethod
    def parse(cls, fields: list[str]) -> DutyClear:
        """From the day as YYYYMMDD."""
        (day,) = _exactly(fields, 1)
        return cls(day=_day(day))


@dataclass(frozen=True)
class DutyBack(Button):
    """Back from a day's picker to the week's roster."""

    PREFIX = "db1"
    ROLES = STATION_HEADS

    @classmethod
    def parse(cls, fields: list[str]) -> DutyBack:
        """No fields."""
        _exactly(fields, 0)
        return cls()


@dataclass(frozen=True)
class DutyConfirm(Button):
    """A head confirms putting on duty someone who is on approved leave that day."""

    PREFIX = "dk1"
    ROLES = STATION_HEADS

    day: date
    person_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_day(self.day), _check_id(self.person_id))

    @classmethod
    def parse(cls, fields: list[str]) -> DutyConfirm:
        """From the day as YYYYMMDD and the person's id."""
        day, person_id = _exactly(fields, 2)
        return cls(day=_day(day), person_id=_id(person_id))


@dataclass(frozen=True)
class CheckInAsk(Button):
    """The check-in reminder's button: offer the location keyboard."""

    PREFIX = "ci1"
    ROLES = EVERYONE_REGISTERED

    @classmethod
    def parse(cls, fields: list[str]) -> CheckInAsk:
        """No fields."""
        _exactly(fields, 0)
        return cls()


@dataclass(frozen=True)
class LanguagePick(Button):
    """A language chosen (also the last step of registering)."""

    PREFIX = "lg1"
    ROLES = EVERYONE_REGISTERED
    WHILE_REGISTERING = True

    tag: str

    def fields(self) -> tuple[str, ...]:
        return (_check_token(self.tag),)

    @classmethod
    def parse(cls, fields: list[str]) -> LanguagePick:
        """From the BCP 47 tag (checked against the languages Outpost speaks by the service)."""
        (tag,) = _exactly(fields, 1)
        return cls(tag=_token(tag))


@dataclass(frozen=True)
class StationRoster(Button):
    """Open a station's roster (from the new-registration notice)."""

    PREFIX = "ro1"
    ROLES = HEADS | HQ_AND_SAFETY

    station_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.station_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> StationRoster:
        """From the station's id."""
        (station_id,) = _exactly(fields, 1)
        return cls(station_id=_id(station_id))


@dataclass(frozen=True)
class FlowAnswer(Button):
    """An answer to the question a conversation asked (services.conversations): which
    conversation, which version of it (a press on an earlier question is stale) and the value."""

    PREFIX = "f1"
    ROLES = EVERYONE_REGISTERED
    WHILE_REGISTERING = True

    conversation_id: int
    version: int
    value: str

    def fields(self) -> tuple[str, ...]:
        if isinstance(self.version, bool) or not 0 <= self.version <= MAX_VERSION:
            raise ValueError(f"version out of range: {self.version!r}")
        return (_check_id(self.conversation_id), str(self.version), _check_token(self.value))

    @classmethod
    def parse(cls, fields: list[str]) -> FlowAnswer:
        """From the conversation's id, its version and the value."""
        conversation_id, version, value = _exactly(fields, 3)
        if _VERSION.fullmatch(version) is None:
            raise MalformedCallback("not a version")
        return cls(conversation_id=_id(conversation_id), version=int(version), value=_token(value))


@dataclass(frozen=True)
class OutingVerdict(Button):
    """A decider approves, refuses or asks about an outing (whoever is on duty may be staff:
    the service checks who decides in the database)."""

    PREFIX = "ov1"
    ROLES = EVERYONE_REGISTERED
    APPROVE: ClassVar[str] = "a"
    REFUSE: ClassVar[str] = "r"
    ASK: ClassVar[str] = "q"

    outing_id: int
    verdict: str

    def fields(self) -> tuple[str, ...]:
        if self.verdict not in (self.APPROVE, self.REFUSE, self.ASK):
            raise ValueError(f"not a verdict: {self.verdict!r}")
        return (self.verdict, _check_id(self.outing_id))

    @classmethod
    def parse(cls, fields: list[str]) -> OutingVerdict:
        """From `a|r|q`, id."""
        verdict, outing_id = _exactly(fields, 2)
        if verdict not in (cls.APPROVE, cls.REFUSE, cls.ASK):
            raise MalformedCallback("not a verdict")
        return cls(outing_id=_id(outing_id), verdict=verdict)


@dataclass(frozen=True)
class OutingMove(Button):
    """The person out on an outing: leaving now, back, safe but needing more time, needing
    help, or "I'm OK"."""

    PREFIX = "om1"
    ROLES = EVERYONE_REGISTERED
    LEAVING: ClassVar[str] = "l"
    BACK: ClassVar[str] = "b"
    MORE_TIME: ClassVar[str] = "m"
    HELP: ClassVar[str] = "h"
    OK: ClassVar[str] = "k"
    MOVES: ClassVar[frozenset[str]] = frozenset("lbmhk")

    outing_id: int
    move: str

    def fields(self) -> tuple[str, ...]:
        if self.move not in self.MOVES:
            raise ValueError(f"not a move: {self.move!r}")
        return (self.move, _check_id(self.outing_id))

    @classmethod
    def parse(cls, fields: list[str]) -> OutingMove:
        """From the move's letter and the outing's id."""
        move, outing_id = _exactly(fields, 2)
        if move not in cls.MOVES:
            raise MalformedCallback("not a move")
        return cls(outing_id=_id(outing_id), move=move)


@dataclass(frozen=True)
class OutingReply(Button):
    """The requester answers a decider's question about their outing."""

    PREFIX = "oq1"
    ROLES = EVERYONE_REGISTERED

    outing_id: int
    asker_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.outing_id), _check_id(self.asker_id))

    @classmethod
    def parse(cls, fields: list[str]) -> OutingReply:
        """From the outing's id and the asking decider's id."""
        outing_id, asker_id = _exactly(fields, 2)
        return cls(outing_id=_id(outing_id), asker_id=_id(asker_id))


@dataclass(frozen=True)
class OutingNotMe(Button):
    """A colleague named as a companion says they are not going."""

    PREFIX = "oc1"
    ROLES = EVERYONE_REGISTERED

    outing_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.outing_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> OutingNotMe:
        """From the outing's id."""
        (outing_id,) = _exactly(fields, 1)
        return cls(outing_id=_id(outing_id))


@dataclass(frozen=True)
class IncidentTake(Button):
    """A responder takes an incident ("I'm handling it"); the service checks they were alerted."""

    PREFIX = "it1"
    ROLES = EVERYONE_REGISTERED

    incident_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.incident_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> IncidentTake:
        """From id."""
        (incident_id,) = _exactly(fields, 1)
        return cls(incident_id=_id(incident_id))


@dataclass(frozen=True)
class IncidentNature(Button):
    """The person in danger says what happened; the service checks it is their incident."""

    PREFIX = "in1"
    ROLES = EVERYONE_REGISTERED
    NATURES: ClassVar[tuple[str, ...]] = ("medical", "security", "accident", "detained", "other")

    incident_id: int
    nature: str

    def fields(self) -> tuple[str, ...]:
        if self.nature not in self.NATURES:
            raise ValueError(f"unknown nature {self.nature!r}")
        return (_check_id(self.incident_id), self.nature)

    @classmethod
    def parse(cls, fields: list[str]) -> IncidentNature:
        """From id, nature."""
        incident_id, nature = _exactly(fields, 2)
        if nature not in cls.NATURES:
            raise MalformedCallback("not a nature")
        return cls(incident_id=_id(incident_id), nature=nature)


@dataclass(frozen=True)
class IncidentCancel(Button):
    """The person in danger calls their SOS off as a false alarm (only theirs, only soon)."""

    PREFIX = "ic1"
    ROLES = EVERYONE_REGISTERED

    incident_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.incident_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> IncidentCancel:
        """From id."""
        (incident_id,) = _exactly(fields, 1)
        return cls(incident_id=_id(incident_id))


@dataclass(frozen=True)
class IncidentEmbassy(Button):
    """A safety officer has the embassy told now (at most once per incident)."""

    PREFIX = "ie1"
    ROLES = frozenset({Role.SAFETY, Role.HQ, Role.ADMIN})

    incident_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.incident_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> IncidentEmbassy:
        """From id."""
        (incident_id,) = _exactly(fields, 1)
        return cls(incident_id=_id(incident_id))


@dataclass(frozen=True)
class IncidentClose(Button):
    """Safety or HQ closes an incident with an outcome."""

    PREFIX = "ix1"
    ROLES = frozenset({Role.SAFETY, Role.HQ, Role.ADMIN})
    OUTCOMES: ClassVar[tuple[str, ...]] = ("safe", "treated", "released", "false", "other")

    incident_id: int
    outcome: str

    def fields(self) -> tuple[str, ...]:
        if self.outcome not in self.OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        return (_check_id(self.incident_id), self.outcome)

    @classmethod
    def parse(cls, fields: list[str]) -> IncidentClose:
        """From id, outcome."""
        incident_id, outcome = _exactly(fields, 2)
        if outcome not in cls.OUTCOMES:
            raise MalformedCallback("not an outcome")
        return cls(incident_id=_id(incident_id), outcome=outcome)


def _exactly(fields: list[str], count: int) -> list[str]:
    if len(fields) != count:
        raise MalformedCallback("wrong number of fields")
    return fields


@dataclass(frozen=True)
class SheetAsk(Button):
    """A head's or HQ's button under today's attendance: send the month's sheet."""

    PREFIX = "sh1"
    ROLES = HEADS | HQ_AND_SAFETY

    month: date

    def fields(self) -> tuple[str, ...]:
        return (_check_day(self.month.replace(day=1)),)

    @classmethod
    def parse(cls, fields: list[str]) -> SheetAsk:
        """From the month's first day as YYYYMMDD."""
        (day,) = _exactly(fields, 1)
        month = _day(day)
        if month.day != 1:
            raise MalformedCallback("not a month")
        return cls(month=month)


@dataclass(frozen=True)
class AlertPress(Button):
    """A recipient's answer under a security alert (the service checks they received it)."""

    PREFIX = "al1"
    ROLES = EVERYONE_REGISTERED

    alert_id: int
    reply: AlertReply

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.alert_id), AlertReply(self.reply).value)

    @classmethod
    def parse(cls, fields: list[str]) -> AlertPress:
        """From the alert id and safe|help|away."""
        alert_id, reply = _exactly(fields, 2)
        try:
            return cls(alert_id=_id(alert_id), reply=AlertReply(reply))
        except ValueError:
            raise MalformedCallback("not an answer") from None


@dataclass(frozen=True)
class SecurityToAlert(Button):
    """A safety officer's or HQ's button under a field security report: make it an alert."""

    PREFIX = "sr1"
    ROLES = HQ_AND_SAFETY

    report_id: int

    def fields(self) -> tuple[str, ...]:
        return (_check_id(self.report_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> SecurityToAlert:
        """From the report's id."""
        (report_id,) = _exactly(fields, 1)
        return cls(report_id=_id(report_id))


_PARSERS: Mapping[str, Callable[[list[str]], Button]] = MappingProxyType(
    {
        kind.PREFIX: kind.parse
        for kind in (
            LeaveVerdict,
            LeaveWithdraw,
            LeaveNew,
            DutyDay,
            DutyPick,
            DutyClear,
            DutyBack,
            DutyConfirm,
            CheckInAsk,
            LanguagePick,
            StationRoster,
            FlowAnswer,
            SheetAsk,
            OutingVerdict,
            OutingMove,
            OutingReply,
            OutingNotMe,
            IncidentTake,
            IncidentNature,
            IncidentCancel,
            IncidentEmbassy,
            IncidentClose,
            AlertPress,
            SecurityToAlert,
        )
    }
)


def encode(payload: Button) -> str:
    """The callback data of a payload; ValueError when a field or the whole is out of bounds."""
    data = SEPARATOR.join((payload.PREFIX, *payload.fields()))
    if len(data.encode()) > MAX_BYTES:
        raise CallbackTooLong(f"callback data over {MAX_BYTES} bytes: {payload.PREFIX}")
    return data


def decode(data: str | None) -> Button:
    """The payload behind callback data; MalformedCallback for anything this codec did not
    build (empty, unknown prefix, wrong fields, ids out of range, impossible dates)."""
    if not data or len(data.encode()) > MAX_BYTES:
        raise MalformedCallback("empty or too long")
    prefix, *fields = data.split(SEPARATOR)
    parser = _PARSERS.get(prefix)
    if parser is None:
        raise MalformedCallback("unknown prefix")
    return parser(fields)


def pattern(*kinds: type[Button]) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern matching the data of these kinds of button (by prefix:
    the handler's own decode refuses the rest)."""
    prefixes = frozenset(kind.PREFIX for kind in kinds)

    def matches(data: object) -> bool:
        return isinstance(data, str) and data.split(SEPARATOR, 1)[0] in prefixes

    return matches


ButtonT = TypeVar("ButtonT", bound=Button)


def decode_as(data: str | None, kind: type[ButtonT]) -> ButtonT:
    """The payload behind callback data, which must be of `kind`; MalformedCallback if not."""
    payload = decode(data)
    if not isinstance(payload, kind):
        raise MalformedCallback("another kind of button")
    return payload
