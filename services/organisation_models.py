"""The organisation file's entries as pydantic models, one per kind, every field checked alone.

A check raises the words a user reads (`no station with code LOX`), and a required field left
out is checked as None, so that its own message says what is wrong. A rule between fields reads
those validated before it (`info.data`), so an entry reports all of its bad fields at once. Each
entry model extends a key model that reads only the entry's key, used to find keys given twice
and the stations people may name even when other fields of an entry are bad.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from db.enums import ContactKind, Role
from services.attendance import DEFAULT_CHECKIN_CLOSES, DEFAULT_CHECKIN_OPENS
from services.errors import InvalidInput
from services.localtime import zone_at, zone_named
from services.validation import (
    contact_phone,
    coordinate,
    country_code,
    currency_code,
    email_address,
    language_tag,
    person_phone,
)

ROLES_WITH_STATION = frozenset({Role.STAFF, Role.HEAD})
STATION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
WALL_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?$")


def _error(message: str) -> PydanticCustomError:
    return PydanticCustomError("organisation", message)


def _by(check: Callable[..., Any], *, none: Literal["check", "required", "keep"] = "check",
        **kwargs: Any) -> BeforeValidator:
    """A field checked by `check`, its InvalidInput told in the same words; None is checked,
    refused as missing or kept as it is."""

    def run(value: Any) -> Any:
        if value is None and none == "required":
            raise _error("is required")
        return None if value is None and none == "keep" else _checked(check, value, **kwargs)

    return BeforeValidator(run)


def _checked(check: Callable[..., Any], value: Any, **kwargs: Any) -> Any:
    try:
        return check(value, **kwargs)
    except InvalidInput as exc:
        raise _error(str(exc)) from None


def _axis(name: str, bound: float, *, none: Literal["required", "keep"]) -> BeforeValidator:
    return _by(coordinate, none=none, low=-bound, high=bound, name=name)


def _required() -> Any:
    return Field(None, validate_default=True)


def _text(max_length: int, *, required: bool = True) -> BeforeValidator:
    def run(value: Any) -> str:
        if value is None and not required:
            return ""
        if value is None:
            raise _error("is required")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _error(f"must be text, got {value!r}")
        text = str(value).strip()
        if required and not text:
            raise _error("must not be empty")
        if len(text) > max_length:
            raise _error(f"longer than {max_length} characters")
        return text

    return BeforeValidator(run)


def _station_code(code: str) -> str:
    if not STATION_CODE.match(code):
        raise _error(f"letters, digits, '-' or '_' only: {code!r}")
    return code


def _radius(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _error(f"must be a number of metres above 0, got {value!r}")
    return round(value)


def _telegram_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _error(f"must be a positive whole number, got {value!r}")
    return value


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _error(f"not an IANA time zone: {value!r}")
    zone_named(value.strip())
    return value.strip()


def _weekdays(days: Any) -> list[int]:
    if not isinstance(days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days
    ):
        raise _error(f"ISO weekdays 1 (Monday) to 7, got {days!r}")
    return sorted(set(days))


def _wall_time(value: Any) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:30 as a sexagesimal number (510).
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = WALL_TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise _error(f"not a time of day HH:MM: {value!r}")
    return dt.time(int(match.group(1)), int(match.group(2)), int(match.group(4) or 0))


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
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
    try:
        return ContactKind(str(value))
    except ValueError:
        raise _error(f"{value!r} is not one of {' | '.join(ContactKind)}") from None


def _verified(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _error(f"true or false, got {value!r}")
    return value


Name = Annotated[str, _text(200)]
Country = Annotated[str, _by(country_code, none="required")]
Email = Annotated[str | None, _by(lambda value: email_address(str(value)), none="keep")]
WallTime = Annotated[dt.time | None, _by(_wall_time, none="keep")]


def _fields(model: BaseModel, names: set[str]) -> dict[str, Any]:
    """The fields among `names` that the entry gives (one it leaves out keeps what is stored)."""
    return model.model_dump(include=model.model_fields_set & names)


class HolidayEntry(BaseModel):
    """A station's day off: `2026-10-01`, or `{date: 2026-10-01, name: Independence Day}`."""

    date: Annotated[dt.date, BeforeValidator(_day)] = _required()
    name: Annotated[str, BeforeValidator(lambda value: str(value or "")[:200])] = ""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, item: Any) -> Any:
        if isinstance(item, dt.date | str):
            return {"date": item}
        if not isinstance(item, dict) or set(item) - {"date", "name"}:
            raise _error("must be a date or {date, name}")
        return item


class StationKey(BaseModel):
    """A station's key, its `code`."""

    code: Annotated[str, _text(16), AfterValidator(_station_code)] = _required()
    name: Name = _required()

    @property
    def key(self) -> str:
        """The station's key."""
        return self.code

    def twice(self, also: str) -> tuple[str, str]:
        """Where and how to say that this key is given twice."""
        return ".code", f"{self.code} appears twice (also {also})"


class StationEntry(StationKey):
    """A station; when `timezone` is not given, the zone of its coordinates is stored."""

    model_config = ConfigDict(extra="forbid")

    country: Country = _required()
    lat: Annotated[float, _axis("lat", 90.0, none="required")] = _required()
    lon: Annotated[float, _axis("lon", 180.0, none="required")] = _required()
    city: Annotated[str, _text(120, required=False)] = ""
    radius_m: Annotated[int, _by(_radius)] = 0
    timezone: Annotated[str | None, _by(_zone, none="keep")] = None
    working_days: Annotated[list[int], _by(_weekdays)] = []
    checkin_opens: WallTime = None
    checkin_closes: WallTime = Field(None, validate_default=True)
    workday_ends: WallTime = None
    currency: Annotated[str, _by(currency_code)] = ""
    holidays: Annotated[list[HolidayEntry] | None, _by(_holidays)] = None

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
        """The station's fields to write (all but the key and the holidays)."""
        given = self.model_fields_set - {"code", "holidays"}
        values = self.model_dump(include=given | {"timezone"})  # in its place among the fields
        values["timezone"] = self.timezone or zone_at(self.lat, self.lon).key
        return values

    @property
    def holiday_names(self) -> dict[dt.date, str] | None:
        """The holidays by day when the entry lists them (they replace the stored ones)."""
        if self.holidays is None:
            return None
        return {holiday.date: holiday.name for holiday in self.holidays}


class PersonKey(BaseModel):
    """A person's key, their `telegram_id`."""

    telegram_id: Annotated[int, _by(_telegram_id)] = _required()
    name: Name = _required()

    @property
    def key(self) -> int:
        """The person's key."""
        return self.telegram_id

    def twice(self, also: str) -> tuple[str, str]:
        """Where and how to say that this key is given twice."""
        return ".telegram_id", f"{self.telegram_id} appears twice (also {also})"


class PersonEntry(PersonKey):
    """A person; `roles` replaces the roles they hold, `station` is needed by staff and heads."""

    model_config = ConfigDict(extra="forbid")

    roles: Annotated[frozenset[Role], _by(_roles)] = _required()
    station: str | None = Field(None, validate_default=True)
    language: Annotated[str, _by(language_tag)] = ""
    phone: str | None = None
    email: Email = None

    @field_validator("station", mode="before")
    @classmethod
    def _known_station(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("roles", frozenset()) & ROLES_WITH_STATION:
            raise _error("staff and heads need a station")
        if value is not None and str(value).strip() not in _stations(info):
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
        region = _stations(info)[station] if station else None
        return _checked(person_phone, str(value), region=region)

    @property
    def station_given(self) -> bool:
        """True when the entry names the station (or none): left out, the stored one stays."""
        return "station" in self.model_fields_set

    @cached_property
    def values(self) -> dict[str, Any]:
        """The person's fields to write (roles and station are written apart)."""
        return _fields(self, {"name", "language", "phone", "email"})


def _stations(info: ValidationInfo) -> Mapping[str, str]:
    """The codes of the stations people may name (in the file or stored), to their countries."""
    countries: Mapping[str, str] = (info.context or {})["station_countries"]
    return countries


class ContactKey(BaseModel):
    """A contact's key: country, kind and name."""

    country: Country = _required()
    kind: Annotated[ContactKind, _by(_contact_kind)] = _required()
    name: Name = _required()

    @property
    def key(self) -> tuple[str, ContactKind, str]:
        """The contact's key."""
        return (self.country, self.kind, self.name)

    def twice(self, also: str) -> tuple[str, str]:
        """Where and how to say that this key is given twice."""
        return "", f"the same country, kind and name as {also}"


class ContactEntry(ContactKey):
    """A directory contact (lat and lon are given both or neither: checked with the file)."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = None
    email: Email = None
    lat: Annotated[float | None, _axis("lat", 90.0, none="keep")] = None
    lon: Annotated[float | None, _axis("lon", 180.0, none="keep")] = None
    notes: Annotated[str, BeforeValidator(lambda value: str(value or ""))] = ""
    verified: Annotated[bool, _by(_verified)] = False

    @field_validator("phone", mode="before")
    @classmethod
    def _phone_read_in_country(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None or "country" not in info.data:  # a bad country has its own error
            return None
        return _checked(contact_phone, str(value), country=info.data["country"])

    @cached_property
    def values(self) -> dict[str, Any]:
        """The contact's fields to write (all but the key)."""
        return _fields(self, set(type(self).model_fields) - {"country", "kind", "name"})


EntryKey = StationKey | PersonKey | ContactKey
# Each section's entry model and the model of its key.
ENTRY_MODELS: dict[str, tuple[type[EntryKey], type[EntryKey]]] = {
    "stations": (StationEntry, StationKey),
    "people": (PersonEntry, PersonKey),
    "contacts": (ContactEntry, ContactKey),
}
