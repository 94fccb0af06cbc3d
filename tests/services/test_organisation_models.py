"""The organisation file's models: every error with its path, ISO 4217, what an entry writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

import pytest

from db.enums import ContactKind, Role
from services.organisation_models import OrganisationFileError, validate
from tests.services.test_organisation import contract, richer

ROLES = "staff | head | safety | hq | admin"
KINDS = "embassy | consulate | police | ambulance | fire | hospital | insurer | hq_duty"


def errors_of(data: Mapping[Any, Any], stored: dict[str, str] | None = None) -> list[str]:
    """The lines validate() refuses the file with (none when it passes)."""
    try:
        validate(data, source="org.yaml", stored_stations=stored or {})
    except OrganisationFileError as exc:
        return exc.errors
    return []


@pytest.mark.parametrize(
    ("given", "stored"),
    [("USD", "USD"), ("NGN", "NGN"), ("CNY", "CNY"), ("kes", "KES"), (" eur ", "EUR")],
)
def test_iso_4217_currencies_are_accepted(given: str, stored: str) -> None:
    """A code ISO 4217 lists passes, upper-cased."""
    data = contract()
    data["stations"][0]["currency"] = given
    valid = validate(data, source="org.yaml", stored_stations={})
    assert valid.stations[0].values["currency"] == stored


@pytest.mark.parametrize("given", ["XYZ", "ABC", "US", "DOLLAR", 840, None])
def test_a_currency_iso_4217_does_not_list_is_refused(given: Any) -> None:
    """Three letters are not enough: `XYZ` is refused and the message says what is expected."""
    data = contract()
    data["stations"][0]["currency"] = given
    assert errors_of(data) == [
        f"org.yaml: stations[0].currency: not an ISO 4217 currency code (USD, NGN, CNY, ...): "
        f"{given!r}"
    ]


def test_every_bad_field_of_an_entry_is_listed_unknown_fields_first() -> None:
    """One entry with several mistakes reports each, in the order of the file's fields."""
    data = richer()
    data["stations"][1].update(
        {
            "lat": "north",
            "zone": "EAT",
            "checkin_opens": "10:00",
            "working_days": [1, 8],
            "holidays": [
                "2026-01-01",
                5,
                {"date": "2026-13-01"},
                {"date": "2026-01-02", "day": 1},
            ],
        }
    )
    assert errors_of(data) == [
        "org.yaml: stations[1].zone: unknown field (allowed: checkin_closes, "
        "checkin_correction_min, checkin_opens, city, "
        "code, country, currency, holidays, lat, lon, name, outings, radius_m, timezone, "
        "workday_ends, working_days)",
        "org.yaml: stations[1].lat: lat must be a number, got 'north'",
        "org.yaml: stations[1].working_days: ISO weekdays 1 (Monday) to 7, got [1, 8]",
        "org.yaml: stations[1].checkin_closes: must be later than checkin_opens (10:00; 08:00 "
        "when not given): the check-in window lies within one day",
        "org.yaml: stations[1].holidays[1]: must be a date or {date, name}",
        "org.yaml: stations[1].holidays[2].date: not a date YYYY-MM-DD: '2026-13-01'",
        "org.yaml: stations[1].holidays[3]: must be a date or {date, name}",
    ]


def test_required_fields_left_out_say_what_is_missing() -> None:
    """An empty entry names each required field, in the words of that field's own check."""
    assert errors_of({"stations": [{}], "people": [{}], "contacts": [{}]}) == [
        "org.yaml: stations[0].code: is required",
        "org.yaml: stations[0].name: is required",
        "org.yaml: stations[0].country: is required",
        "org.yaml: stations[0].lat: is required",
        "org.yaml: stations[0].lon: is required",
        "org.yaml: people[0].telegram_id: must be a positive whole number, got None",
        "org.yaml: people[0].name: is required",
        f"org.yaml: people[0].roles: a list of {ROLES}, got None",
        "org.yaml: contacts[0].country: is required",
        f"org.yaml: contacts[0].kind: None is not one of {KINDS}",
        "org.yaml: contacts[0].name: is required",
    ]


def test_the_file_shape_is_checked() -> None:
    """Unknown sections, a section that is not a list, an entry that is not a mapping, and a key
    YAML read as true (`yes:`) are each named."""
    data = {
        "stations": {"code": "LOS"},
        "people": ["Wang Lei"],
        "places": [],
        1: None,
        "contacts": [{"country": "NG", "kind": "police", "name": "Police", True: "x"}],
    }
    assert errors_of(data) == [
        "org.yaml: 1: unknown section (expected stations, people, contacts)",
        "org.yaml: places: unknown section (expected stations, people, contacts)",
        "org.yaml: stations: must be a list",
        "org.yaml: people[0]: must be a mapping",
        "org.yaml: contacts[0].True: unknown field (allowed: country, email, kind, lat, lon, "
        "name, notes, phone, verified)",
    ]


def test_a_bad_station_field_is_not_reported_again_at_its_people() -> None:
    """A station with a bad lat still exists for its people: their station is known and local
    phone numbers are read in its country."""
    data = richer()
    data["stations"][0]["lat"] = 999
    assert errors_of(data) == ["org.yaml: stations[0].lat: lat 999.0 is outside -90..90"]
    data["stations"][0]["country"] = "XX"  # without a country, people cannot be placed there
    assert "org.yaml: people[0].station: no station with code LOS" in errors_of(data)


def test_keys_given_twice_are_found_even_in_bad_entries() -> None:
    """A repeated key is named with the first entry that has it."""
    data = richer()
    data["stations"].append({**data["stations"][0], "lat": None})
    data["contacts"].append({**data["contacts"][2], "email": "not an address"})
    assert errors_of(data) == [
        "org.yaml: stations[2].lat: is required",
        "org.yaml: stations[2].code: LOS appears twice (also stations[0])",
        "org.yaml: contacts[3].email: not an e-mail address: 'not an address' "
        "(An email address must have an @-sign.)",
        "org.yaml: contacts[3]: the same country, kind and name as contacts[2]",
    ]


def test_contact_coordinates_come_both_or_neither() -> None:
    """A contact with lat and no lon is refused as a whole, beside any error of lat itself."""
    data = contract()
    del data["contacts"][0]["lon"]
    data["contacts"][0]["lat"] = 95
    assert errors_of(data) == [
        "org.yaml: contacts[0].lat: lat 95.0 is outside -90..90",
        "org.yaml: contacts[0]: give both lat and lon, or neither",
    ]


def test_people_may_name_stored_stations_and_their_country_reads_phones() -> None:
    """A station only in the database places people and reads their local numbers."""
    data = {
        "people": [
            {
                "telegram_id": 7,
                "name": "Li",
                "roles": ["head"],
                "station": "PEK",
                "phone": "010 6512 3456",
            }
        ]
    }
    [person] = validate(data, source="org.yaml", stored_stations={"PEK": "CN"}).people
    assert (person.station, person.values["phone"], person.roles) == (
        "PEK",
        "+861065123456",
        frozenset({Role.HEAD}),
    )
    assert errors_of(
        {"people": [{**data["people"][0], "roles": ["head", "boss", "chief"]}]},
        stored={"PEK": "CN"},
    ) == [f"org.yaml: people[0].roles: unknown roles 'boss', 'chief' ({ROLES})"]


def test_an_entry_writes_only_what_it_gives() -> None:
    """Fields left out are not written (they keep what is stored); the zone comes from the
    coordinates when not given; a contact's short number stays as dialled."""
    data = {
        "stations": [
            {
                "code": "NBO",
                "name": "Nairobi",
                "country": "KE",
                "lat": -1.29,
                "lon": 36.82,
                "checkin_opens": 450,
                "holidays": ["2026-12-12"],
            }
        ],
        "people": [{"telegram_id": 5, "name": " Chen Jie ", "roles": ["hq"]}],
        "contacts": [{"country": "KE", "kind": "police", "name": "Police", "phone": 999}],
    }
    valid = validate(data, source="org.yaml", stored_stations={})
    station, person, contact = valid.stations[0], valid.people[0], valid.contacts[0]
    assert station.values == {
        "name": "Nairobi",
        "country": "KE",
        "lat": -1.29,
        "lon": 36.82,
        "timezone": "Africa/Nairobi",
        "checkin_opens": time(7, 30),
    }
    assert station.holiday_names == {date(2026, 12, 12): ""}
    assert (person.values, person.station_given) == ({"name": "Chen Jie"}, False)
    assert (contact.kind, contact.values) == (ContactKind.POLICE, {"phone": "999"})
    assert valid.has_people


def test_names_in_the_file_are_cleaned_of_control_and_bidi_characters() -> None:
    """A name that would reorder a card (an RLO, isolates, marks) is stored plain; one that is
    nothing but such characters is refused as empty."""
    data = {
        "people": [
            {
                "telegram_id": 7,
                "name": "\u202eLi\u2066 Ming\u2069\u200f\n(HQ)\x07",
                "roles": ["head"],
                "station": "PEK",
            }
        ]
    }
    [person] = validate(data, source="org.yaml", stored_stations={"PEK": "CN"}).people
    assert person.name == "Li Ming (HQ)"
    assert errors_of(
        {"people": [{**data["people"][0], "name": "\u202a\u202c"}]}, stored={"PEK": "CN"}
    ) == ["org.yaml: people[0].name: must not be empty"]
