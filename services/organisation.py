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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

import yaml
from tortoise.transactions import in_transaction

from db.enums import Role
from db.models import AuditLog, Contact, Holiday, Person, PersonRole, Station
from services.attendance import reschedule_station
from services.clock import Clock, SystemClock
from services.localtime import zone_at
from services.organisation_models import (
    ContactEntry,
    OrganisationFileError,
    PersonEntry,
    StationEntry,
    validate,
)

Action = Literal["created", "updated", "unchanged"]
SECTIONS = ("stations", "people", "contacts")
DEFAULT_WORKING_DAYS = [1, 2, 3, 4, 5]
# The model's default minutes for correcting a check-in made outside the geofence.
DEFAULT_CORRECTION_MIN = 30


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
    except yaml.MarkedYAMLError as exc:
        raise OrganisationFileError([_yaml_error(path, exc)]) from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise OrganisationFileError([f"{name}: not valid {_format_of(path)}: {exc}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OrganisationFileError([f"{name}: the top level must be a mapping with {SECTIONS}"])
    return data


def _format_of(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"


def _yaml_error(path: Path, exc: yaml.MarkedYAMLError) -> str:
    """Where the syntax error is, as an editor counts (from 1), with the path as given.

    PyYAML's own text places it in "<unicode string>", the text it was handed.
    """
    detail = exc.problem or "syntax error"
    if exc.context and exc.context_mark is not None:
        at = exc.context_mark
        detail += f" ({exc.context} at line {at.line + 1}, column {at.column + 1})"
    if exc.problem_mark is None:
        return f"{path}: not valid YAML: {detail}"
    mark = exc.problem_mark
    return f"{path}: line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {detail}"


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
                at=now,
                actor=None,
                action="organisation.imported",
                object_kind="organisation",
                data={
                    "source": source,
                    "created": report.count("created"),
                    "updated": report.count("updated"),
                },
            )
    return report


async def _import_stations(
    entries: list[StationEntry], report: ImportReport, dry_run: bool
) -> dict[str, Station]:
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
        if entry.holiday_names is not None and entry.holiday_names != holidays_before:
            if action == "unchanged":
                action = "updated"
            if action == "updated":
                changed["holidays"] = (sorted(holidays_before), sorted(entry.holiday_names))
            if not dry_run and station is not None:
                await Holiday.filter(station=station).delete()
                await Holiday.bulk_create(
                    [
                        Holiday(station=station, date=day, name=name)
                        for day, name in sorted(entry.holiday_names.items())
                    ]
                )
        report.changes.append(EntryChange("station", entry.code, action, changed))
    return by_code


async def _import_people(
    entries: list[PersonEntry],
    stations: dict[str, Station],
    report: ImportReport,
    dry_run: bool,
    now: Any,
) -> None:
    existing = {
        p.telegram_id: p
        for p in await Person.filter(
            telegram_id__in=[e.telegram_id for e in entries]
        ).prefetch_related("roles", "station")
    }
    extra_codes = {e.station for e in entries if e.station} - set(stations)
    for station in await Station.filter(code__in=list(extra_codes)):
        stations[station.code] = station
    for entry in entries:
        person = existing.get(entry.telegram_id)
        target = stations.get(entry.station) if entry.station else None
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
        if entry.station_given and current_code != entry.station:
            changed["station"] = (current_code, entry.station)
        held = {Role(grant.role): grant for grant in person.roles}
        if set(held) != set(entry.roles):
            changed["roles"] = (sorted(held), sorted(entry.roles))
        report.changes.append(
            EntryChange(
                "person", str(entry.telegram_id), "updated" if changed else "unchanged", changed
            )
        )
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
        at=now,
        actor=None,
        action=action,
        object_kind="person",
        object_id=person.id,
        data={"role": str(role), "by": "import"},
    )


async def _import_contacts(
    entries: list[ContactEntry], report: ImportReport, dry_run: bool
) -> None:
    for entry in entries:
        country, kind, name = entry.country, entry.kind, entry.name
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
            "code": station.code,
            "name": station.name,
            "country": station.country,
            "city": station.city,
            "lat": station.lat,
            "lon": station.lon,
            "radius_m": station.radius_m,
            "timezone": station.timezone or zone_at(station.lat, station.lon).key,
        }
        if list(station.working_days) != DEFAULT_WORKING_DAYS:
            entry["working_days"] = list(station.working_days)
        for name in ("checkin_opens", "checkin_closes", "workday_ends"):
            value = getattr(station, name)
            if value is not None:
                entry[name] = _time_text(value)
        if station.checkin_correction_min != DEFAULT_CORRECTION_MIN:
            entry["checkin_correction_min"] = station.checkin_correction_min
        if station.currency != "USD":
            entry["currency"] = station.currency
        if station.outing_policy:
            entry["outings"] = dict(station.outing_policy)
        holidays = sorted(await Holiday.filter(station_id=station.id), key=lambda h: h.date)
        if holidays:
            entry["holidays"] = [{"date": h.date.isoformat(), "name": h.name} for h in holidays]
        stations.append(entry)
    people = []
    for person in (
        await Person.filter(active=True)
        .order_by("telegram_id")
        .prefetch_related("roles", "station")
    ):
        item: dict[str, Any] = {
            "telegram_id": person.telegram_id,
            "name": person.name,
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
        row: dict[str, Any] = {
            "country": contact.country,
            "kind": str(contact.kind),
            "name": contact.name,
        }
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
