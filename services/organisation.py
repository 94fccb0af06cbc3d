"""The organisation file: stations, people and contacts, validated whole, then upserted by key.

Keys: a station's `code`, a person's `telegram_id`, a contact's (`country`, `kind`, `name`).
Everything is validated before anything is written, and the writes run in one transaction, so a
file with one bad entry changes nothing. Optional fields left out of an entry keep the stored
value (a new row takes the default); a station without `timezone` gets the zone of its
coordinates; a person's `roles` list replaces the roles they hold. Nobody is deleted: active
people the file does not name are reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

import yaml
from tortoise.transactions import in_transaction

from db.enums import ContactKind, Role
from db.models import AuditLog, Contact, Holiday, Person, PersonRole, Station
from services.attendance import (
    DEFAULT_CHECKIN_CLOSES,
    DEFAULT_CHECKIN_OPENS,
    reschedule_station,
)
from services.clock import Clock, SystemClock
from services.errors import InvalidInput
from services.localtime import zone_at, zone_named
from services.validation import (
    contact_phone,
    coordinate,
    country_code,
    email_address,
    language_tag,
    person_phone,
)

Action = Literal["created", "updated", "unchanged"]
SECTIONS = ("stations", "people", "contacts")
ROLES_WITH_STATION = frozenset({Role.STAFF, Role.HEAD})
DEFAULT_WORKING_DAYS = [1, 2, 3, 4, 5]

STATION_FIELDS = {
    "code", "name", "country", "city", "lat", "lon", "radius_m", "timezone",
    "working_days", "checkin_opens", "checkin_closes", "workday_ends", "currency", "holidays",
}
PERSON_FIELDS = {"telegram_id", "name", "roles", "station", "language", "phone", "email"}
CONTACT_FIELDS = {"country", "kind", "name", "phone", "email", "lat", "lon", "notes", "verified"}
STATION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
WALL_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?$")


class OrganisationFileError(InvalidInput):
    """The file cannot be imported; `errors` holds one line per bad field."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class EntryChange:
    """What importing one entry does (or would do)."""

    section: str
    key: str
    action: Action
    # field -> (stored value, value from the file); empty when created or unchanged
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class ImportReport:
    """Everything an import changed or would change, and the people it did not mention."""

    source: str
    dry_run: bool
    changes: list[EntryChange] = field(default_factory=list)
    missing_people: list[tuple[int, str]] = field(default_factory=list)

    def count(self, action: Action) -> int:
        """How many entries were (or would be) created, updated or left unchanged."""
        return sum(1 for change in self.changes if change.action == action)

    @property
    def changed(self) -> bool:
        """True when the import wrote (or would write) anything."""
        return any(change.action != "unchanged" for change in self.changes)

    def lines(self) -> list[str]:
        """The report as lines for a terminal."""
        out = []
        for change in self.changes:
            head = f"{change.action:9} {change.section} {change.key}"
            if change.fields:
                details = ", ".join(
                    f"{name}: {_show(old)} -> {_show(new)}"
                    for name, (old, new) in change.fields.items()
                )
                head += f" ({details})"
            out.append(head)
        for telegram_id, name in self.missing_people:
            out.append(f"not in file: person {telegram_id} ({name}) is kept, not deleted")
        verb = "would be" if self.dry_run else "were"
        out.append(
            f"{self.count('created')} created, {self.count('updated')} updated, "
            f"{self.count('unchanged')} unchanged ({verb} written"
            f"{'; dry run, nothing written' if self.dry_run else ''})"
        )
        return out


def _show(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "none" if value is None else str(value)


# ---------------------------------------------------------------- reading


def load_file(path: Path) -> dict[str, Any]:
    """The organisation file's content (JSON when the name ends in .json, else YAML)."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrganisationFileError([f"{name}: cannot read the file ({exc.strerror})"]) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise OrganisationFileError([f"{name}: not valid {_format_of(path)}: {exc}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OrganisationFileError([f"{name}: the top level must be a mapping with {SECTIONS}"])
    return data


def _format_of(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"


# ---------------------------------------------------------------- validation


@dataclass
class _StationEntry:
    where: str
    code: str
    values: dict[str, Any]  # fields given (normalized), set on create and on update
    holidays: dict[date, str] | None


@dataclass
class _PersonEntry:
    where: str
    telegram_id: int
    values: dict[str, Any]
    roles: frozenset[Role]
    station_code: str | None  # None: no station
    station_given: bool


@dataclass
class _ContactEntry:
    where: str
    key: tuple[str, ContactKind, str]
    values: dict[str, Any]


@dataclass
class _Validated:
    stations: list[_StationEntry]
    people: list[_PersonEntry]
    contacts: list[_ContactEntry]
    has_people: bool


class _Errors:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{self.source}: {where}: {message}")


def _text(entry: Mapping[str, Any], name: str, errors: _Errors, where: str, *,
          required: bool, max_length: int) -> str | None:
    if name not in entry or entry[name] is None:
        if required:
            errors.add(f"{where}.{name}", "is required")
        return None
    value = entry[name]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.add(f"{where}.{name}", f"must be text, got {value!r}")
        return None
    text = str(value).strip()
    if required and not text:
        errors.add(f"{where}.{name}", "must not be empty")
        return None
    if len(text) > max_length:
        errors.add(f"{where}.{name}", f"longer than {max_length} characters")
        return None
    return text


def _check(errors: _Errors, where: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return check(*args, **kwargs)
    except InvalidInput as exc:
        errors.add(where, str(exc))
        return None


def _entries(data: Mapping[str, Any], section: str, errors: _Errors) -> list[Any]:
    entries = data.get(section)
    if entries is None:
        return []
    if not isinstance(entries, list):
        errors.add(section, "must be a list")
        return []
    return entries


def _required(entry: Mapping[str, Any], name: str, errors: _Errors, where: str,
              check: Any) -> Any:
    if entry.get(name) is None:
        errors.add(f"{where}.{name}", "is required")
        return None
    return _check(errors, f"{where}.{name}", check, entry[name])


def _unknown_fields(entry: Mapping[str, Any], allowed: set[str], errors: _Errors,
                    where: str) -> None:
    for name in sorted(set(entry) - allowed, key=str):
        errors.add(f"{where}.{name}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _wall_time(value: Any, errors: _Errors, where: str) -> time | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:30 as a sexagesimal number (510).
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = WALL_TIME.match(str(value)) if isinstance(value, str) else None
    if match is None:
        errors.add(where, f"not a time of day HH:MM: {value!r}")
        return None
    return time(int(match.group(1)), int(match.group(2)), int(match.group(4) or 0))


def _validate_station(entry: Any, where: str, errors: _Errors) -> _StationEntry | None:
    if not isinstance(entry, dict):
        errors.add(where, "must be a mapping")
        return None
    _unknown_fields(entry, STATION_FIELDS, errors, where)
    code = _text(entry, "code", errors, where, required=True, max_length=16)
    if code is not None and not STATION_CODE.match(code):
        errors.add(f"{where}.code", f"letters, digits, '-' or '_' only: {code!r}")
        code = None
    values: dict[str, Any] = {}
    name = _text(entry, "name", errors, where, required=True, max_length=200)
    values["name"] = name
    values["country"] = _required(entry, "country", errors, where, country_code)
    for axis, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        if entry.get(axis) is None:
            errors.add(f"{where}.{axis}", "is required")
        else:
            values[axis] = _check(
                errors, f"{where}.{axis}", coordinate, entry[axis], low=low, high=high, name=axis
            )
    if "city" in entry:
        values["city"] = _text(entry, "city", errors, where, required=False, max_length=120) or ""
    if "radius_m" in entry:
        radius = entry["radius_m"]
        if isinstance(radius, bool) or not isinstance(radius, int | float) or radius <= 0:
            errors.add(f"{where}.radius_m", f"must be a number of metres above 0, got {radius!r}")
        else:
            values["radius_m"] = round(radius)
    zone = entry.get("timezone")
    if zone is not None:
        if isinstance(zone, str) and zone.strip():
            if _check(errors, f"{where}.timezone", zone_named, zone.strip()) is not None:
                values["timezone"] = zone.strip()
        else:
            errors.add(f"{where}.timezone", f"not an IANA time zone: {zone!r}")
    elif isinstance(values.get("lat"), float) and isinstance(values.get("lon"), float):
        values["timezone"] = zone_at(values["lat"], values["lon"]).key
    if "working_days" in entry:
        days = entry["working_days"]
        if (not isinstance(days, list)
                or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7
                           for d in days)):
            errors.add(f"{where}.working_days", f"ISO weekdays 1 (Monday) to 7, got {days!r}")
        else:
            values["working_days"] = sorted(set(days))
    for name_ in ("checkin_opens", "checkin_closes", "workday_ends"):
        if name_ in entry:
            values[name_] = _wall_time(entry[name_], errors, f"{where}.{name_}")
    opens = values.get("checkin_opens") or DEFAULT_CHECKIN_OPENS
    closes = values.get("checkin_closes") or DEFAULT_CHECKIN_CLOSES
    if ("checkin_opens" in entry or "checkin_closes" in entry) and isinstance(opens, time) \
            and isinstance(closes, time) and closes <= opens:
        errors.add(
            f"{where}.checkin_closes",
            f"must be later than checkin_opens ({opens:%H:%M}; "
            f"{DEFAULT_CHECKIN_OPENS:%H:%M} when not given): "
            "the check-in window lies within one day",
        )
    if "currency" in entry:
        currency = entry["currency"]
        if not isinstance(currency, str) or not re.match(r"^[A-Za-z]{3}$", currency):
            errors.add(f"{where}.currency", f"an ISO 4217 code like USD, got {currency!r}")
        else:
            values["currency"] = currency.upper()
    holidays = _holidays(entry, errors, where) if "holidays" in entry else None
    if code is None or name is None:
        return None
    return _StationEntry(where=where, code=code, values=values, holidays=holidays)


def _holidays(entry: Mapping[str, Any], errors: _Errors, where: str) -> dict[date, str] | None:
    raw = entry["holidays"]
    if raw is None:
        return {}
    if not isinstance(raw, list):
        errors.add(f"{where}.holidays", "must be a list of {date, name}")
        return None
    result: dict[date, str] = {}
    for index, item in enumerate(raw):
        here = f"{where}.holidays[{index}]"
        if isinstance(item, date | str):
            item = {"date": item}
        if not isinstance(item, dict) or set(item) - {"date", "name"}:
            errors.add(here, "must be a date or {date, name}")
            continue
        day = item.get("date")
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, date):
            errors.add(f"{here}.date", f"not a date YYYY-MM-DD: {item.get('date')!r}")
            continue
        result[day] = str(item.get("name") or "")[:200]
    return result


def _validate_person(entry: Any, where: str, errors: _Errors,
                     station_countries: Mapping[str, str]) -> _PersonEntry | None:
    if not isinstance(entry, dict):
        errors.add(where, "must be a mapping")
        return None
    _unknown_fields(entry, PERSON_FIELDS, errors, where)
    telegram_id = entry.get("telegram_id")
    if isinstance(telegram_id, bool) or not isinstance(telegram_id, int) or telegram_id <= 0:
        errors.add(f"{where}.telegram_id", f"must be a positive whole number, got {telegram_id!r}")
        telegram_id = None
    values: dict[str, Any] = {}
    name = _text(entry, "name", errors, where, required=True, max_length=200)
    values["name"] = name
    roles: set[Role] = set()
    raw_roles = entry.get("roles")
    if not isinstance(raw_roles, list) or not raw_roles:
        errors.add(f"{where}.roles", f"a list of {' | '.join(Role)}, got {raw_roles!r}")
    else:
        for role in raw_roles:
            try:
                roles.add(Role(role))
            except ValueError:
                errors.add(f"{where}.roles", f"unknown role {role!r} ({' | '.join(Role)})")
    station_code: str | None = None
    region: str | None = None
    station_given = "station" in entry
    if entry.get("station") is not None:
        station_code = str(entry["station"]).strip()
        if station_code not in station_countries:
            errors.add(f"{where}.station", f"no station with code {station_code}")
        else:
            region = station_countries[station_code]
    elif roles & ROLES_WITH_STATION:
        errors.add(f"{where}.station", "staff and heads need a station")
    if "language" in entry:
        values["language"] = _check(errors, f"{where}.language", language_tag, entry["language"])
    if "phone" in entry:
        phone = entry["phone"]
        if phone is None:
            values["phone"] = None
        elif isinstance(phone, str | int) and not isinstance(phone, bool):
            values["phone"] = _check(
                errors, f"{where}.phone", person_phone, str(phone), region=region
            )
        else:
            errors.add(f"{where}.phone", f"must be text, got {phone!r}")
    if "email" in entry:
        email = entry["email"]
        values["email"] = (
            None if email is None
            else _check(errors, f"{where}.email", email_address, str(email))
        )
    if telegram_id is None or name is None:
        return None
    return _PersonEntry(where=where, telegram_id=telegram_id, values=values,
                        roles=frozenset(roles), station_code=station_code,
                        station_given=station_given)


def _validate_contact(entry: Any, where: str, errors: _Errors) -> _ContactEntry | None:
    if not isinstance(entry, dict):
        errors.add(where, "must be a mapping")
        return None
    _unknown_fields(entry, CONTACT_FIELDS, errors, where)
    country = _required(entry, "country", errors, where, country_code)
    kind: ContactKind | None = None
    try:
        kind = ContactKind(str(entry.get("kind")))
    except ValueError:
        errors.add(f"{where}.kind", f"{entry.get('kind')!r} is not one of "
                                    f"{' | '.join(ContactKind)}")
    name = _text(entry, "name", errors, where, required=True, max_length=200)
    values: dict[str, Any] = {}
    if "phone" in entry:
        phone = entry["phone"]
        if phone is None:
            values["phone"] = None
        elif country is not None:
            values["phone"] = _check(
                errors, f"{where}.phone", contact_phone, str(phone), country=country
            )
    if "email" in entry:
        email = entry["email"]
        values["email"] = (
            None if email is None
            else _check(errors, f"{where}.email", email_address, str(email))
        )
    if ("lat" in entry) != ("lon" in entry):
        errors.add(where, "give both lat and lon, or neither")
    for axis, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        if axis in entry:
            values[axis] = None if entry[axis] is None else _check(
                errors, f"{where}.{axis}", coordinate, entry[axis], low=low, high=high, name=axis
            )
    if "notes" in entry:
        values["notes"] = str(entry["notes"] or "")
    if "verified" in entry:
        if not isinstance(entry["verified"], bool):
            errors.add(f"{where}.verified", f"true or false, got {entry['verified']!r}")
        else:
            values["verified"] = entry["verified"]
    if country is None or kind is None or name is None:
        return None
    return _ContactEntry(where=where, key=(country, kind, name), values=values)


def validate(data: Mapping[str, Any], *, source: str,
             stored_stations: Mapping[str, str]) -> _Validated:
    """Every entry checked; raises OrganisationFileError listing every bad field.

    `stored_stations` maps the codes of stations already in the database to their countries,
    so people may name a station the file does not list.
    """
    errors = _Errors(source)
    for name in sorted(set(data) - set(SECTIONS), key=str):
        errors.add(str(name), f"unknown section (expected {', '.join(SECTIONS)})")
    stations: list[_StationEntry] = []
    seen: dict[Any, str] = {}
    for index, raw in enumerate(_entries(data, "stations", errors)):
        entry = _validate_station(raw, f"stations[{index}]", errors)
        if entry is None:
            continue
        if entry.code in seen:
            errors.add(
                f"{entry.where}.code", f"{entry.code} appears twice (also {seen[entry.code]})"
            )
            continue
        seen[entry.code] = entry.where
        stations.append(entry)
    countries = dict(stored_stations)
    countries.update(
        {s.code: s.values["country"] for s in stations if s.values.get("country")}
    )
    people: list[_PersonEntry] = []
    seen = {}
    for index, raw in enumerate(_entries(data, "people", errors)):
        person = _validate_person(raw, f"people[{index}]", errors, countries)
        if person is None:
            continue
        if person.telegram_id in seen:
            errors.add(f"{person.where}.telegram_id",
                       f"{person.telegram_id} appears twice (also {seen[person.telegram_id]})")
            continue
        seen[person.telegram_id] = person.where
        people.append(person)
    contacts: list[_ContactEntry] = []
    seen = {}
    for index, raw in enumerate(_entries(data, "contacts", errors)):
        contact = _validate_contact(raw, f"contacts[{index}]", errors)
        if contact is None:
            continue
        if contact.key in seen:
            errors.add(contact.where, f"the same country, kind and name as {seen[contact.key]}")
            continue
        seen[contact.key] = contact.where
        contacts.append(contact)
    if errors.lines:
        raise OrganisationFileError(errors.lines)
    return _Validated(stations=stations, people=people, contacts=contacts,
                      has_people="people" in data)


# ---------------------------------------------------------------- planning and writing


def _differences(row: Any, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    changed = {}
    for name, new in values.items():
        old = getattr(row, name)
        if old != new:
            changed[name] = (old, new)
    return changed


async def import_organisation(
    data: Mapping[str, Any], *, source: str, dry_run: bool = False, clock: Clock | None = None
) -> ImportReport:
    """Validate the whole file, then create or update every entry in one transaction."""
    clock = clock or SystemClock()
    now = clock.now()
    stored = {s.code: s.country for s in await Station.all()}
    valid = validate(data, source=source, stored_stations=stored)
    report = ImportReport(source=source, dry_run=dry_run)
    async with in_transaction():
        stations = await _import_stations(valid.stations, report, dry_run)
        if not dry_run:
            # A new station, or new hours, zone or state: its day is looked at again now.
            for change in report.changes:
                if change.section == "station" and change.action != "unchanged":
                    await reschedule_station(stations[change.key].id, clock=clock)
        await _import_people(valid.people, stations, report, dry_run, now)
        await _import_contacts(valid.contacts, report, dry_run)
        if valid.has_people:
            named = {p.telegram_id for p in valid.people}
            for person in await Person.filter(active=True).order_by("telegram_id"):
                if person.telegram_id not in named:
                    report.missing_people.append((person.telegram_id, person.name))
        if report.changed and not dry_run:
            await AuditLog.create(
                at=now, actor=None, action="organisation.imported", object_kind="organisation",
                data={"source": source, "created": report.count("created"),
                      "updated": report.count("updated")},
            )
    return report


async def _import_stations(entries: list[_StationEntry], report: ImportReport,
                           dry_run: bool) -> dict[str, Station]:
    by_code = {s.code: s for s in await Station.filter(code__in=[e.code for e in entries])}
    for entry in entries:
        station = by_code.get(entry.code)
        holidays_before: dict[date, str] = {}
        if station is None:
            action: Action = "created"
            changed: dict[str, tuple[Any, Any]] = {}
            if not dry_run:
                station = await Station.create(code=entry.code, **entry.values)
                by_code[entry.code] = station
        else:
            changed = _differences(station, entry.values)
            holidays_before = {
                h.date: h.name for h in await Holiday.filter(station=station).order_by("date")
            }
            action = "updated" if changed else "unchanged"
            if changed and not dry_run:
                for name, (_, new) in changed.items():
                    setattr(station, name, new)
                await station.save(update_fields=[*changed, "updated_at"])
        if entry.holidays is not None and entry.holidays != holidays_before:
            if action == "unchanged":
                action = "updated"
            if action == "updated":
                changed["holidays"] = (sorted(holidays_before), sorted(entry.holidays))
            if not dry_run and station is not None:
                await Holiday.filter(station=station).delete()
                await Holiday.bulk_create(
                    [Holiday(station=station, date=day, name=name)
                     for day, name in sorted(entry.holidays.items())]
                )
        report.changes.append(EntryChange("station", entry.code, action, changed))
    return by_code


async def _import_people(entries: list[_PersonEntry], stations: dict[str, Station],
                         report: ImportReport, dry_run: bool, now: Any) -> None:
    existing = {
        p.telegram_id: p
        for p in await Person.filter(telegram_id__in=[e.telegram_id for e in entries])
        .prefetch_related("roles", "station")
    }
    extra_codes = {e.station_code for e in entries if e.station_code} - set(stations)
    for station in await Station.filter(code__in=list(extra_codes)):
        stations[station.code] = station
    for entry in entries:
        person = existing.get(entry.telegram_id)
        target = stations.get(entry.station_code) if entry.station_code else None
        if person is None:
            report.changes.append(EntryChange("person", str(entry.telegram_id), "created"))
            if dry_run:
                continue
            person = await Person.create(
                telegram_id=entry.telegram_id, station=target, **entry.values
            )
            for role in sorted(entry.roles):
                await PersonRole.create(person=person, role=role)
                await _audit_role(person, "role.granted", role, now)
            continue
        changed = _differences(person, entry.values)
        current_code = person.station.code if person.station is not None else None
        if entry.station_given and current_code != entry.station_code:
            changed["station"] = (current_code, entry.station_code)
        held = {Role(grant.role): grant for grant in person.roles}
        if set(held) != set(entry.roles):
            changed["roles"] = (sorted(held), sorted(entry.roles))
        report.changes.append(EntryChange(
            "person", str(entry.telegram_id), "updated" if changed else "unchanged", changed
        ))
        if not changed or dry_run:
            continue
        for name in entry.values:
            setattr(person, name, entry.values[name])
        if entry.station_given:
            person.station = target
        await person.save()
        for role, grant in held.items():
            if role not in entry.roles:
                await grant.delete()
                await _audit_role(person, "role.revoked", role, now)
        for role in sorted(entry.roles - set(held)):
            await PersonRole.create(person=person, role=role)
            await _audit_role(person, "role.granted", role, now)


async def _audit_role(person: Person, action: str, role: Role, now: Any) -> None:
    await AuditLog.create(
        at=now, actor=None, action=action, object_kind="person", object_id=person.id,
        data={"role": str(role), "by": "import"},
    )


async def _import_contacts(entries: list[_ContactEntry], report: ImportReport,
                           dry_run: bool) -> None:
    for entry in entries:
        country, kind, name = entry.key
        key = f"{country}/{kind}/{name}"
        contact = await Contact.get_or_none(country=country, kind=kind, name=name)
        if contact is None:
            report.changes.append(EntryChange("contact", key, "created"))
            if not dry_run:
                await Contact.create(country=country, kind=kind, name=name, **entry.values)
            continue
        changed = _differences(contact, entry.values)
        report.changes.append(
            EntryChange("contact", key, "updated" if changed else "unchanged", changed)
        )
        if changed and not dry_run:
            for field_name, (_, new) in changed.items():
                setattr(contact, field_name, new)
            await contact.save(update_fields=[*changed, "updated_at"])


# ---------------------------------------------------------------- export


def _time_text(value: time | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


async def export_organisation() -> dict[str, Any]:
    """The stations, active people and contacts, in the import format."""
    stations = []
    for station in await Station.all().order_by("code"):
        entry: dict[str, Any] = {
            "code": station.code, "name": station.name, "country": station.country,
            "city": station.city, "lat": station.lat, "lon": station.lon,
            "radius_m": station.radius_m,
            "timezone": station.timezone or zone_at(station.lat, station.lon).key,
        }
        if list(station.working_days) != DEFAULT_WORKING_DAYS:
            entry["working_days"] = list(station.working_days)
        for name in ("checkin_opens", "checkin_closes", "workday_ends"):
            value = getattr(station, name)
            if value is not None:
                entry[name] = _time_text(value)
        if station.currency != "USD":
            entry["currency"] = station.currency
        holidays = sorted(
            await Holiday.filter(station_id=station.id), key=lambda h: h.date
        )
        if holidays:
            entry["holidays"] = [
                {"date": h.date.isoformat(), "name": h.name} for h in holidays
            ]
        stations.append(entry)
    people = []
    for person in await Person.filter(active=True).order_by("telegram_id").prefetch_related(
        "roles", "station"
    ):
        item: dict[str, Any] = {
            "telegram_id": person.telegram_id, "name": person.name,
            "roles": sorted(str(grant.role) for grant in person.roles),
        }
        if person.station is not None:
            item["station"] = person.station.code
        item["language"] = person.language
        if person.phone:
            item["phone"] = person.phone
        if person.email:
            item["email"] = person.email
        people.append(item)
    contacts = []
    for contact in await Contact.all().order_by("country", "kind", "name"):
        row: dict[str, Any] = {"country": contact.country, "kind": str(contact.kind),
                               "name": contact.name}
        for name in ("phone", "email", "lat", "lon"):
            value = getattr(contact, name)
            if value is not None:
                row[name] = value
        if contact.notes:
            row["notes"] = contact.notes
        row["verified"] = contact.verified
        contacts.append(row)
    return {"stations": stations, "people": people, "contacts": contacts}


def dump(data: Mapping[str, Any], *, as_json: bool = False) -> str:
    """The organisation as YAML (default) or JSON text."""
    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=99)
