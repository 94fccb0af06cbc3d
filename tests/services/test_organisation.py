"""The organisation file: validation with precise messages, idempotent upserts, round trips."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from db.enums import ContactKind, Role
from db.models import AuditLog, Contact, Deadline, Holiday, Person, PersonRole, Station
from services.attendance import STATION_DAY
from services.clock import ManualClock
from services.organisation import (
    OrganisationFileError,
    dump,
    export_organisation,
    import_organisation,
)

# The Contract's example, verbatim in substance.
CONTRACT = """
stations:
  - code: LOS            # unique key
    name: Lagos service station
    country: NG          # ISO 3166-1 alpha-2
    city: Lagos
    lat: 6.4281
    lon: 3.4219
    radius_m: 300        # geofence for check-in
    timezone: Africa/Lagos   # optional: derived from lat/lon when absent
people:
  - telegram_id: 100001  # unique key
    name: Wang Lei
    roles: [staff]       # staff | head | safety | hq | admin (several allowed)
    station: LOS         # for staff and heads
    language: zh-Hans    # zh-Hans, en, ... (BCP 47)
    phone: "+2348000000001"
contacts:
  - country: NG
    kind: embassy        # embassy | consulate | police | ambulance | fire | hospital | insurer

    name: Embassy of the P.R. China in Nigeria
    phone: "+234-9-0000000"
    email: consular@example.org
    lat: 9.0765
    lon: 7.3986
"""


def contract() -> dict[str, Any]:
    data = yaml.safe_load(CONTRACT)
    assert isinstance(data, dict)
    return data


def richer() -> dict[str, Any]:
    data = contract()
    data["stations"].append(
        {
            "code": "NBO",
            "name": "Nairobi office",
            "country": "ke",
            "lat": -1.2921,
            "lon": 36.8219,
            "working_days": [1, 2, 3, 4, 5, 6],
            "checkin_opens": "08:00",
            "checkin_closes": "09:30",
            "currency": "kes",
            "holidays": [{"date": "2026-12-12", "name": "Jamhuri Day"}],
            "checkin_correction_min": 45,
        }
    )
    data["people"] += [
        {
            "telegram_id": 100003,
            "name": "Zhang Wei",
            "roles": ["head", "staff"],
            "station": "LOS",
            "language": "zh-CN",
            "phone": "0803 123 4567",
            "email": "Zhang.Wei@Example.ORG",
        },
        {"telegram_id": 100005, "name": "Chen Jie", "roles": ["hq"], "language": "en"},
        {
            "telegram_id": 100006,
            "name": "Otieno",
            "roles": ["staff"],
            "station": "NBO",
            "language": "fr",
        },
    ]
    data["contacts"] += [
        {"country": "NG", "kind": "police", "name": "Police emergency", "phone": "112"},
        {"country": "NG", "kind": "police", "name": "Police", "phone": "199"},
    ]
    return data


async def test_contract_example_imports(db: str, clock: ManualClock) -> None:
    """The Contract's example works exactly as shown."""
    report = await import_organisation(contract(), source="org.yaml", clock=clock)
    assert [c.action for c in report.changes] == ["created"] * 3
    station = await Station.get(code="LOS")
    assert (station.country, station.timezone, station.radius_m) == ("NG", "Africa/Lagos", 300)
    person = await Person.get(telegram_id=100001).prefetch_related("roles", "station")
    assert person.phone == "+2348000000001"
    assert person.language == "zh-Hans"
    assert [r.role for r in person.roles] == [Role.STAFF]
    contact = await Contact.get(country="NG", kind=ContactKind.EMBASSY)
    assert contact.email == "consular@example.org"
    assert contact.phone == "+23490000000"


async def test_normalisation(db: str, clock: ManualClock) -> None:
    """Phones become E.164 (local ones read in the station's country), e-mail and language
    are normalised, short emergency numbers stay as dialled, zones come from coordinates."""
    await import_organisation(richer(), source="org.yaml", clock=clock)
    zhang = await Person.get(telegram_id=100003)
    assert zhang.phone == "+2348031234567"
    assert zhang.email == "Zhang.Wei@example.org"
    assert zhang.language == "zh-Hans"
    assert (await Person.get(telegram_id=100006)).language == "fr"
    nairobi = await Station.get(code="NBO")
    assert nairobi.timezone == "Africa/Nairobi"
    assert nairobi.country == "KE"
    assert nairobi.currency == "KES"
    assert nairobi.working_days == [1, 2, 3, 4, 5, 6]
    assert await Holiday.filter(station=nairobi).count() == 1
    police = await Contact.get(name="Police emergency")
    assert police.phone == "112"


async def test_import_is_idempotent_and_round_trips(db: str, clock: ManualClock) -> None:
    """import → export → import changes nothing, and a second import reports all unchanged."""
    first = await import_organisation(richer(), source="org.yaml", clock=clock)
    assert first.changed
    again = await import_organisation(richer(), source="org.yaml", clock=clock)
    assert not again.changed, again.lines()
    exported = await export_organisation()
    text = dump(exported)
    reimport = await import_organisation(yaml.safe_load(text), source="export.yaml", clock=clock)
    assert not reimport.changed, reimport.lines()
    assert await export_organisation() == exported
    import json

    nairobi = next(entry for entry in exported["stations"] if entry["code"] == "NBO")
    assert nairobi["checkin_correction_min"] == 45
    assert (await Station.get(code="NBO")).checkin_correction_min == 45
    as_json = json.loads(dump(exported, as_json=True))
    assert not (await import_organisation(as_json, source="e.json", clock=clock)).changed


async def test_updates_report_changed_fields_and_sync_roles(db: str, clock: ManualClock) -> None:
    """A change names the fields; the file's roles replace the held ones, with audit rows."""
    await import_organisation(richer(), source="org.yaml", clock=clock)
    data = richer()
    data["people"][1]["roles"] = ["head"]
    data["people"][1]["name"] = "Zhang Wei (head)"
    data["stations"][0]["radius_m"] = 250
    report = await import_organisation(data, source="org.yaml", clock=clock)
    changes = {(c.section, c.key): c for c in report.changes}
    assert changes[("station", "LOS")].fields == {"radius_m": (300, 250)}
    person = changes[("person", "100003")]
    assert person.action == "updated"
    assert set(person.fields) == {"name", "roles"}
    assert await PersonRole.filter(person__telegram_id=100003).values_list("role", flat=True) == [
        Role.HEAD
    ]
    revoked = await AuditLog.filter(action="role.revoked").values_list("data", flat=True)
    assert revoked == [{"role": "staff", "by": "import"}]
    assert any("radius_m: 300 -> 250" in line for line in report.lines())


async def test_dry_run_writes_nothing(db: str, clock: ManualClock) -> None:
    """A dry run reports what it would do and leaves the database as it was."""
    report = await import_organisation(richer(), source="org.yaml", dry_run=True, clock=clock)
    assert report.count("created") == 9
    assert "dry run, nothing written" in report.lines()[-1]
    assert await Station.all().count() == 0
    assert await Person.all().count() == 0
    assert await AuditLog.all().count() == 0
    await import_organisation(contract(), source="org.yaml", clock=clock)
    data = contract()
    data["people"][0]["name"] = "Wang Lei II"
    report = await import_organisation(data, source="org.yaml", dry_run=True, clock=clock)
    assert report.changes[1].fields == {"name": ("Wang Lei", "Wang Lei II")}
    assert (await Person.get(telegram_id=100001)).name == "Wang Lei"


async def test_missing_person_is_reported_not_deleted(db: str, clock: ManualClock) -> None:
    """Someone in the database but not in the file stays, and the report says so."""
    await import_organisation(richer(), source="org.yaml", clock=clock)
    data = richer()
    del data["people"][2]
    report = await import_organisation(data, source="org.yaml", clock=clock)
    assert report.missing_people == [(100005, "Chen Jie")]
    assert any("100005" in line and "not deleted" in line for line in report.lines())
    assert await Person.filter(telegram_id=100005, active=True).exists()
    # A file without a people section (e.g. contacts only) reports nobody missing.
    only_contacts = {"contacts": data["contacts"]}
    assert (await import_organisation(only_contacts, source="c.yaml")).missing_people == []


def _bad(path: str, value: Any) -> dict[str, Any]:
    data = richer()
    section, index, field = path.split(".")
    entry = data[section][int(index)]
    if value is _DELETE:
        del entry[field]
    else:
        entry[field] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("people.3.station", "LOX", "org.yaml: people[3].station: no station with code LOX"),
        (
            "people.0.station",
            _DELETE,
            "org.yaml: people[0].station: staff and heads need a station",
        ),
        ("stations.0.country", "XX", "org.yaml: stations[0].country: not an ISO 3166-1 alpha-2"),
        ("stations.0.country", "NGA", "org.yaml: stations[0].country: not an ISO 3166-1 alpha-2"),
        ("stations.0.lat", 91, "org.yaml: stations[0].lat: lat 91.0 is outside -90..90"),
        ("stations.1.lon", -181.5, "org.yaml: stations[1].lon: lon -181.5 is outside -180..180"),
        ("stations.0.radius_m", 0, "org.yaml: stations[0].radius_m: must be a number of metres"),
        (
            "stations.0.timezone",
            "Africa/Atlantis",
            "org.yaml: stations[0].timezone: unknown time zone 'Africa/Atlantis'",
        ),
        ("stations.1.checkin_opens", "25:00", "org.yaml: stations[1].checkin_opens: not a time"),
        (
            "stations.1.checkin_correction_min",
            -5,
            "org.yaml: stations[1].checkin_correction_min: minutes from 0 (no correction) to 240",
        ),
        (
            "stations.0.checkin_closes",
            "07:00",
            "org.yaml: stations[0].checkin_closes: must be later than checkin_opens (08:00",
        ),
        ("people.0.roles", ["staff", "boss"], "org.yaml: people[0].roles: unknown role 'boss'"),
        ("people.0.roles", [], "org.yaml: people[0].roles: a list of staff"),
        ("people.0.language", "xx-Nope", "org.yaml: people[0].language: unknown language tag"),
        (
            "people.2.phone",
            "0803 123 4567",
            "org.yaml: people[2].phone: '0803 123 4567' has no country code",
        ),
        ("people.0.phone", "+234 12", "org.yaml: people[0].phone: not a possible phone number"),
        ("people.1.email", "not-an-address", "org.yaml: people[1].email: not an e-mail address"),
        ("people.0.telegram_id", "abc", "org.yaml: people[0].telegram_id: must be a positive"),
        ("people.0.nickname", "Lei", "org.yaml: people[0].nickname: unknown field"),
        ("contacts.1.kind", "priest", "org.yaml: contacts[1].kind: 'priest' is not one of"),
        ("contacts.0.lat", 95, "org.yaml: contacts[0].lat: lat 95.0 is outside"),
        ("contacts.0.name", "", "org.yaml: contacts[0].name: must not be empty"),
    ],
)
async def test_each_bad_entry_is_named_and_nothing_is_written(
    db: str, clock: ManualClock, path: str, value: Any, message: str
) -> None:
    """Every error names the file, the entry and the field; a bad file writes nothing."""
    with pytest.raises(OrganisationFileError) as caught:
        await import_organisation(_bad(path, value), source="org.yaml", clock=clock)
    assert any(line.startswith(message) for line in caught.value.errors), caught.value.errors
    assert await Station.all().count() == 0
    assert await Person.all().count() == 0
    assert await Contact.all().count() == 0


async def test_a_bad_file_leaves_earlier_data_untouched(db: str, clock: ManualClock) -> None:
    """Good entries before a bad one are not written either, and every error is listed."""
    await import_organisation(contract(), source="org.yaml", clock=clock)
    data = richer()
    data["stations"][0]["name"] = "Renamed"
    data["people"][3]["station"] = "LOX"
    data["contacts"][1]["kind"] = "priest"
    with pytest.raises(OrganisationFileError) as caught:
        await import_organisation(data, source="org.yaml", clock=clock)
    assert len(caught.value.errors) == 2
    assert (await Station.get(code="LOS")).name == "Lagos service station"
    assert await Station.all().count() == 1


async def test_duplicates_in_one_file_are_refused(db: str) -> None:
    """The same key twice in one file is an error naming both entries."""
    data = richer()
    data["people"].append(copy.deepcopy(data["people"][0]))
    with pytest.raises(OrganisationFileError) as caught:
        await import_organisation(data, source="org.yaml")
    assert caught.value.errors == [
        "org.yaml: people[4].telegram_id: 100001 appears twice (also people[0])"
    ]


async def test_people_may_name_a_station_already_stored(db: str) -> None:
    """A later file may add people to a station imported earlier."""
    await import_organisation(contract(), source="org.yaml")
    later = {
        "people": [
            {
                "telegram_id": 7,
                "name": "New",
                "roles": ["staff"],
                "station": "LOS",
                "phone": "0803 123 4567",
            }
        ]
    }
    await import_organisation(later, source="later.yaml")
    assert (await Person.get(telegram_id=7)).phone == "+2348031234567"


SHIPPED_CONTACTS = Path(__file__).resolve().parents[2] / "data" / "contacts.yaml"


async def test_shipped_contacts_file_imports(db: str) -> None:
    """data/contacts.yaml is valid, and importing it twice changes nothing."""
    from services.organisation import load_file

    data = load_file(SHIPPED_CONTACTS)
    first = await import_organisation(data, source="contacts.yaml")
    assert first.count("created") > 400
    assert not (await import_organisation(data, source="contacts.yaml")).changed
    nigeria = await Contact.filter(country="NG").values_list("kind", "phone")
    assert ("hq_duty", "+861012308") in nigeria
    assert ("police", "199") in nigeria
    assert not await Contact.filter(verified=True).exists()


async def test_an_import_reschedules_the_stations_it_creates_or_changes(
    db: str, clock: ManualClock
) -> None:
    """A new station's day is looked at at once; an unchanged one keeps its deadline; new
    hours bring it forward to now."""
    await import_organisation(contract(), source="org.yaml", clock=clock)
    station = await Station.get(code="LOS")
    row = await Deadline.get(kind=STATION_DAY, key=str(station.id))
    assert row.due_at == clock.now()
    later = clock.now() + timedelta(hours=5)  # as a firing would have left it
    await Deadline.filter(id=row.id).update(due_at=later)
    clock.advance(minutes=1)
    await import_organisation(contract(), source="org.yaml", clock=clock)
    assert (await Deadline.get(id=row.id)).due_at == later
    changed = contract()
    changed["stations"][0]["checkin_opens"] = "07:30"
    await import_organisation(changed, source="org.yaml", clock=clock)
    assert (await Deadline.get(id=row.id)).due_at == clock.now()
    assert await Deadline.filter(kind=STATION_DAY).count() == 1


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    """load_file says where the mistake is, as an editor counts, not "<unicode string>"."""
    from services.organisation import load_file

    broken = tmp_path / "org.yaml"
    broken.write_text(
        "stations:\n  - code: LOS\n    name: Lagos\n   city: Lagos\n", encoding="utf-8"
    )
    with pytest.raises(OrganisationFileError) as caught:
        load_file(broken)
    [line] = caught.value.errors
    assert line.startswith(f"{broken}: line 4, column 4: not valid YAML: "), line
    assert "<unicode string>" not in line
    (tmp_path / "org.json").write_text("{", encoding="utf-8")
    with pytest.raises(OrganisationFileError) as caught:
        load_file(tmp_path / "org.json")
    assert caught.value.errors[0].startswith("org.json: not valid JSON: ")


async def test_currencies_are_iso_4217_codes(db: str, clock: ManualClock) -> None:
    """NGN and CNY are stored; XYZ (three letters, but no currency) refuses the whole file."""
    data = richer()
    data["stations"][0]["currency"] = "ngn"
    data["stations"][1]["currency"] = "CNY"
    await import_organisation(data, source="org.yaml", clock=clock)
    assert await Station.filter(currency__in=["NGN", "CNY"]).count() == 2
    data["stations"][1]["currency"] = "XYZ"
    data["stations"][0]["name"] = "Renamed"
    with pytest.raises(OrganisationFileError) as caught:
        await import_organisation(data, source="org.yaml", clock=clock)
    assert caught.value.errors == [
        "org.yaml: stations[1].currency: not an ISO 4217 currency code (USD, NGN, CNY, ...): 'XYZ'"
    ]
    assert (await Station.get(code="LOS")).name == "Lagos service station"
