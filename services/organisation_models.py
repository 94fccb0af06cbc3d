"""The organisation file's entries as pydantic models, one per kind, and `validate` for a file.

Every check raises the words a user reads (`no station with code LOX`). A required field left out
is checked as None, so that its own check says what is missing; a rule between two fields reads
the fields validated before it (`info.data`). So an entry reports all of its bad fields, and
`validate` lists them for the whole file as `org.yaml: people[3].station: ...`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from db.enums import ContactKind, Role
from services import validation
from services.attendance import DEFAULT_CHECKIN_CLOSES, DEFAULT_CHECKIN_OPENS
from services.errors import InvalidInput
from services.localtime import zone_at, zone_named

ROLES_WITH_STATION = frozenset({Role.STAFF, Role.HEAD})
STATION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
WALL_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?$")


class OrganisationFileError(InvalidInput):
    """The file cannot be imported; `errors` holds one line per bad field."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def _error(message: str) -> PydanticCustomError:
    return PydanticCustomError("organisation", message)


def _checked(check: Callable[..., Any], value: Any, **kwargs: Any) -> Any:
    """`check(value)`; its InvalidInput (the shared checks' error) is told in the same words."""
    try:
        return check(value, **kwargs)
    except InvalidInput as exc:
        raise _error(str(exc)) from None


def _by(
    check: Callable[..., Any],
    *,
    none: Literal["check", "required", "keep"] = "check",
    **kwargs: Any,
) -> BeforeValidator:
    """A field checked by `check`; None is checked too, refused as missing, or kept."""

    def run(value: Any) -> Any:
        if value is None and none == "required":
            raise _error("is required")
        return None if value is None and none == "keep" else _checked(check, value, **kwargs)

    return BeforeValidator(run)


def _must(
    ok: Callable[[Any], bool], message: str, then: Callable[[Any], Any] = lambda value: value
) -> BeforeValidator:
    """A field whose value passes `ok` (`then` gives its normal form), else `message, got ...`."""

    def run(value: Any) -> Any:
        if not ok(value):
            raise _error(f"{message}, got {value!r}")
        return then(value)

    return BeforeValidator(run)


def _required() -> Any:
    return Field(None, validate_default=True)


def _axis(name: str, bound: float, *, none: Literal["required", "keep"]) -> BeforeValidator:
    return _by(validation.coordinate, none=none, low=-bound, high=bound, name=name)


def _text(value: Any, *, max_length: int = 200, required: bool = True) -> str:
    if value is None and required:
        raise _error("is required")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _error(f"must be text, got {value!r}")
    text = str(value).strip()
    if required and not text:
        raise _error("must not be empty")
    if len(text) > max_length:
        raise _error(f"longer than {max_length} characters")
    return text


def _station_code(value: Any) -> str:
    code = _text(value, max_length=16)
    if not STATION_CODE.match(code):
        raise _error(f"letters, digits, '-' or '_' only: {code!r}")
    return code


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _error(f"not an IANA time zone: {value!r}")
    zone_named(value.strip())
    return value.strip()


def _wall_time(value: Any) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:30 as a sexagesimal number (510).
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = WALL_TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise _error(f"not a time of day HH:MM: {value!r}")
    return dt.time(int(match.group(1)), int(match.group(2)), int(match.group(4) or 0))


def _day(value: Any) -> dt.date:
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _error(f"not a date YYYY-MM-DD: {value!r}") from None


def _holidays(value: Any) -> list[Any]:
    if not isinstance(value, list | None):
        raise _error("must be a list of {date, name}")
    return value or []  # `holidays:` with nothing: the station has none


def _roles(value: Any) -> frozenset[Role]:
    if not isinstance(value, list) or not value:
        raise _error(f"a list of {' | '.join(Role)}, got {value!r}")
    if unknown := [role for role in value if role not in list(Role)]:
        names = ", ".join(repr(role) for role in unknown)
        raise _error(f"unknown role{'s' * (len(unknown) > 1)} {names} ({' | '.join(Role)})")
    return frozenset(Role(role) for role in value)


def _contact_kind(value: Any) -> ContactKind:
    if str(value) not in list(ContactKind):
        raise _error(f"{value!r} is not one of {' | '.join(ContactKind)}")
    return ContactKind(str(value))


def _name(value: Any) -> str:
    return _text(validation.display_name(value) if isinstance(value, str) else value)


Name = Annotated[str, _by(_name)]
Country = Annotated[str, _by(validation.country_code, none="required")]
Email = Annotated[str | None, _by(lambda value: validation.email_address(str(value)), none="keep")]
WallTime = Annotated[dt.time | None, _by(_wall_time, none="keep")]


class HolidayEntry(BaseModel):
    """A station's day off: `2026-10-01`, or `{date: 2026-10-01, name: Independence Day}`."""

    date: Annotated[dt.date, _by(_day)] = _required()
    name: Annotated[str, BeforeValidator(lambda value: str(value or "")[:200])] = ""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, item: Any) -> Any:
        if isinstance(item, dt.date | str):
            return {"date": item}
        if not isinstance(item, dict) or set(item) - {"date", "name"}:
            raise _error("must be a date or {date, name}")
        return item


# A key model reads an entry's key alone (and its name, without which the entry is not one):
# a key given twice, or a station people name, is known even when other fields are bad.
class StationKey(BaseModel):
    code: Annotated[str, _by(_station_code)] = _required()
    name: Name = _required()


# The longest a station may leave a check-in outside its geofence open to a correction.
MAX_CORRECTION_MIN = 240


def _minutes(low: int, high: int) -> BeforeValidator:
    return _must(
        lambda value: type(value) is int and low <= value <= high,
        f"must be whole minutes from {low} to {high}",
    )


Flag = Annotated[bool, _must(lambda value: isinstance(value, bool), "must be true or false")]


class HighRiskArea(BaseModel):
    """A place outings are marked risky in: a point and a radius."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, _by(_text, max_length=120, required=False)] = ""
    lat: Annotated[float, _axis("lat", 90.0, none="required")] = _required()
    lon: Annotated[float, _axis("lon", 180.0, none="required")] = _required()
    radius_m: Annotated[
        int,
        _must(
            lambda value: type(value) in (int, float) and value > 0,
            "must be a number of metres above 0",
            then=round,
        ),
    ] = 1000


class OutingPolicy(BaseModel):
    """A station's rules for outings (the `outings:` block of a station), with the defaults
    every station has when it gives none."""

    model_config = ConfigDict(extra="forbid")

    night_starts: Annotated[dt.time, _by(_wall_time)] = dt.time(19, 0)
    night_ends: Annotated[dt.time, _by(_wall_time)] = dt.time(6, 0)
    companion_required: Flag = False
    longest_hours: Annotated[
        float,
        _must(
            lambda value: type(value) in (int, float) and 0 < value <= 24,
            "must be hours above 0, at most 24",
        ),
    ] = 8.0
    reminder_before_min: Annotated[int, _minutes(0, 240)] = 15
    grace_1_min: Annotated[int, _minutes(1, 240)] = 15
    grace_2_min: Annotated[int, _minutes(1, 240)] = 30
    grace_3_min: Annotated[int, _minutes(1, 240)] = 30
    high_risk_country: Flag = False
    high_risk_areas: Annotated[
        list[HighRiskArea],
        _must(
            lambda value: isinstance(value, list), "must be a list of {name, lat, lon, radius_m}"
        ),
    ] = []
    dead_man_min: Annotated[int, _minutes(0, 240)] = 0
    dead_man_reply_min: Annotated[int, _minutes(1, 60)] = 10

    @field_validator("night_ends")
    @classmethod
    def _night_has_length(cls, ends: dt.time, info: ValidationInfo) -> dt.time:
        if ends == info.data.get("night_starts"):
            raise _error("must differ from night_starts")
        return ends

    @classmethod
    def stored(cls, value: Mapping[str, Any] | None) -> OutingPolicy:
        """The policy kept on a station (its JSON column), defaults for what is not there."""
        return cls.model_validate(dict(value or {}))


class StationEntry(StationKey):
    """A station; when `timezone` is not given, the zone of its coordinates is stored."""

    model_config = ConfigDict(extra="forbid")

    country: Country = _required()
    lat: Annotated[float, _axis("lat", 90.0, none="required")] = _required()
    lon: Annotated[float, _axis("lon", 180.0, none="required")] = _required()
    city: Annotated[str, _by(_text, max_length=120, required=False)] = ""
    radius_m: Annotated[
        int,
        _must(
            lambda value: type(value) in (int, float) and value > 0,
            "must be a number of metres above 0",
            then=round,
        ),
    ] = 0
    timezone: Annotated[str | None, _by(_zone, none="keep")] = None
    working_days: Annotated[
        list[int],
        _must(
            lambda days: (
                isinstance(days, list) and all(type(d) is int and 1 <= d <= 7 for d in days)
            ),
            "ISO weekdays 1 (Monday) to 7",
            then=lambda days: sorted(set(days)),
        ),
    ] = []
    checkin_opens: WallTime = None
    checkin_closes: WallTime = Field(None, validate_default=True)
    workday_ends: WallTime = None
    checkin_correction_min: Annotated[
        int,
        _must(
            lambda value: type(value) is int and 0 <= value <= MAX_CORRECTION_MIN,
            f"minutes from 0 (no correction) to {MAX_CORRECTION_MIN}",
        ),
    ] = 30
    currency: Annotated[str, _by(validation.currency_code)] = ""
    holidays: Annotated[list[HolidayEntry] | None, _by(_holidays)] = None
    outings: OutingPolicy | None = None

    @field_validator("checkin_closes")
    @classmethod
    def _window_within_a_day(cls, closes: dt.time | None, info: ValidationInfo) -> dt.time | None:
        opens = info.data.get("checkin_opens") or DEFAULT_CHECKIN_OPENS
        if (closes or DEFAULT_CHECKIN_CLOSES) <= opens:
            raise _error(
                f"must be later than checkin_opens ({opens:%H:%M}; "
                f"{DEFAULT_CHECKIN_OPENS:%H:%M} when not given): "
                "the check-in window lies within one day"
            )
        return closes

    @cached_property
    def values(self) -> dict[str, Any]:
        """The fields to write: those given (the rest keep what is stored) and the zone."""
        given = self.model_fields_set - {"code", "holidays", "outings"}
        values = self.model_dump(include=given | {"timezone"})  # in its place among the fields
        values["timezone"] = self.timezone or zone_at(self.lat, self.lon).key
        if self.outings is not None:
            values["outing_policy"] = self.outings.model_dump(mode="json", exclude_defaults=True)
        return values

    @property
    def holiday_names(self) -> dict[dt.date, str] | None:
        """The holidays by day when the entry lists them (they replace the stored ones)."""
        return None if self.holidays is None else {h.date: h.name for h in self.holidays}


class PersonKey(BaseModel):
    telegram_id: Annotated[
        int,
        _must(lambda value: type(value) is int and value > 0, "must be a positive whole number"),
    ] = _required()
    name: Name = _required()


class PersonEntry(PersonKey):
    """A person; `roles` replaces the roles they hold; staff and heads need a `station`."""

    model_config = ConfigDict(extra="forbid")

    roles: Annotated[frozenset[Role], _by(_roles)] = _required()
    station: str | None = Field(None, validate_default=True)
    language: Annotated[str, _by(validation.language_tag)] = ""
    phone: str | None = None
    email: Email = None

    @field_validator("station", mode="before")
    @classmethod
    def _known_station(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("roles", frozenset()) & ROLES_WITH_STATION:
            raise _error("staff and heads need a station")
        if value is not None and str(value).strip() not in (info.context or {})["stations"]:
            raise _error(f"no station with code {str(value).strip()}")
        return None if value is None else str(value).strip()

    @field_validator("phone", mode="before")
    @classmethod
    def _phone_read_in_station_country(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _error(f"must be text, got {value!r}")
        station = info.data.get("station")
        region = (info.context or {})["stations"][station] if station else None
        return _checked(validation.person_phone, str(value), region=region)

    @property
    def station_given(self) -> bool:
        """True when the entry says the station (or none); left out, the stored one stays."""
        return "station" in self.model_fields_set

    @cached_property
    def values(self) -> dict[str, Any]:
        """The fields to write but roles and station; those left out keep what is stored."""
        return self.model_dump(include=self.model_fields_set - {"telegram_id", "roles", "station"})


class ContactKey(BaseModel):
    country: Country = _required()
    kind: Annotated[ContactKind, _by(_contact_kind)] = _required()
    name: Name = _required()


class ContactEntry(ContactKey):
    """A directory contact; lat and lon are given both or neither."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = None
    email: Email = None
    lat: Annotated[float | None, _axis("lat", 90.0, none="keep")] = None
    lon: Annotated[float | None, _axis("lon", 180.0, none="keep")] = None
    notes: Annotated[str, BeforeValidator(lambda value: str(value or ""))] = ""
    verified: Annotated[bool, _must(lambda value: type(value) is bool, "true or false")] = False

    @field_validator("phone", mode="before")
    @classmethod
    def _phone_read_in_country(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None or "country" not in info.data:  # a bad country has its own error
            return None
        return _checked(validation.contact_phone, str(value), country=info.data["country"])

    @cached_property
    def values(self) -> dict[str, Any]:
        """The fields to write but the key; those left out keep what is stored."""
        return self.model_dump(include=self.model_fields_set - {"country", "kind", "name"})


# Each section: its entry model, its key model, the key's fields and what a key given twice says.
ENTRY_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel], tuple[str, ...], str]] = {
    "stations": (StationEntry, StationKey, ("code",), ".code: {0} appears twice (also {also})"),
    "people": (
        PersonEntry,
        PersonKey,
        ("telegram_id",),
        ".telegram_id: {0} appears twice (also {also})",
    ),
    "contacts": (
        ContactEntry,
        ContactKey,
        ("country", "kind", "name"),
        ": the same country, kind and name as {also}",
    ),
}
UNKNOWN_FIELD = ("extra_forbidden", "invalid_key")


@dataclass
class OrganisationFile:
    """A file's entries, all valid."""

    stations: list[StationEntry]
    people: list[PersonEntry]
    contacts: list[ContactEntry]
    has_people: bool  # people the file leaves out are reported only when it has the section


def validate(
    data: Mapping[str, Any], *, source: str, stored_stations: Mapping[str, str]
) -> OrganisationFile:
    """Every entry checked; raises OrganisationFileError listing every bad field.

    `stored_stations` maps the codes of stations already in the database to their countries,
    so people may name a station the file does not list.
    """
    errors = [
        f"{source}: {name}: unknown section (expected {', '.join(ENTRY_MODELS)})"
        for name in sorted(set(data) - set(ENTRY_MODELS), key=str)
    ]
    stations = dict(stored_stations)  # code -> country, for people's station and phone
    valid: dict[str, list[Any]] = {section: [] for section in ENTRY_MODELS}
    for section, (model, key_model, key_fields, twice) in ENTRY_MODELS.items():
        entries = [] if data.get(section) is None else data[section]
        if not isinstance(entries, list):
            errors.append(f"{source}: {section}: must be a list")
            continue
        seen: dict[tuple[Any, ...], str] = {}
        for index, raw in enumerate(entries):
            where = f"{section}[{index}]"
            entry, entry_errors = _entry(model, key_model, raw, stations)
            errors += [f"{source}: {where}{line}" for line in entry_errors]
            if entry is None:
                continue
            key = tuple(getattr(entry, name) for name in key_fields)
            if key in seen:
                errors.append(f"{source}: {where}{twice.format(*key, also=seen[key])}")
                continue
            seen[key] = where
            if not entry_errors:
                valid[section].append(entry)
            if isinstance(entry, StationKey):
                with suppress(InvalidInput):  # people cannot name a station without a country
                    stations[entry.code] = validation.country_code(raw.get("country"))
    if errors:
        raise OrganisationFileError(errors)
    return OrganisationFile(**valid, has_people="people" in data)


def _entry(
    model: type[BaseModel], key_model: type[BaseModel], raw: Any, stations: Mapping[str, str]
) -> tuple[BaseModel | None, list[str]]:
    """The entry, or only its key when other fields are bad (None when the key is bad too),
    and its errors as `.field: message`."""
    errors = []
    if isinstance(raw, dict) and model is ContactEntry and ("lat" in raw) != ("lon" in raw):
        errors.append(": give both lat and lon, or neither")
    try:
        return model.model_validate(raw, context={"stations": stations}), errors
    except ValidationError as exc:
        errors[:0] = [
            f"{_path(error)}: {_message(error, model)}"
            for error in sorted(exc.errors(), key=_unknown_fields_first)
        ]
    try:
        return key_model.model_validate(raw), errors
    except ValidationError:
        return None, errors


def _unknown_fields_first(error: ErrorDetails) -> tuple[bool, str]:
    unknown = error["type"] in UNKNOWN_FIELD
    return (not unknown, _path(error) if unknown else "")


def _path(error: ErrorDetails) -> str:
    """Where in the entry: `.station`, `.holidays[2].date`, nothing for the entry as a whole."""
    if error["type"] == "invalid_key":  # a key that is not text (YAML reads `yes:` as true)
        return f".{error['input']}"
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])


def _message(error: ErrorDetails, model: type[BaseModel]) -> str:
    if error["type"] in UNKNOWN_FIELD:
        if error["loc"][:1] == ("outings",):  # within a station's outing rules
            model = HighRiskArea if "high_risk_areas" in error["loc"] else OutingPolicy
        return f"unknown field (allowed: {', '.join(sorted(model.model_fields))})"
    return "must be a mapping" if error["type"] == "model_type" else error["msg"]
