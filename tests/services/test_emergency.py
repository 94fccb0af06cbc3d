"""The words that mean "help!" and the numbers they get until the SOS feature lands."""

from __future__ import annotations

import pytest

from db.enums import ContactKind, Role
from db.models import Person
from services.emergency import emergency_numbers, is_sos_text
from services.people import identify
from tests.auxil.stations import lagos_with, nigerian_emergency_numbers


@pytest.mark.parametrize(
    "text", ["SOS", "sos", "  Sos  ", "SOS!", "🆘", "🆘\ufe0f", "help", "HELP", " 救命 ", "救命！"]
)
def test_cries_for_help(text: str) -> None:
    """Any case, trimmed, with a trailing exclamation mark."""
    assert is_sos_text(text)


@pytest.mark.parametrize(
    "text", ["", None, "/sos", "so", "help me with leave", "I need the SOS form", "helpful"]
)
def test_other_text_is_not_an_sos(text: str | None) -> None:
    """A sentence that merely contains the word is not a cry for help."""
    assert not is_sos_text(text)


async def test_numbers_of_the_station_country_with_a_phone_only(db: str) -> None:
    """Embassy first (as /contacts), only entries one can call; none without a station."""
    await lagos_with((1, "Amina", Role.STAFF, "en"))
    await nigerian_emergency_numbers()
    actor = await identify(1)
    assert actor is not None
    numbers = await emergency_numbers(actor)
    assert [(entry.kind, entry.phone) for entry in numbers] == [
        (ContactKind.EMBASSY, "+23490000000"),
        (ContactKind.POLICE, "+2341112"),
    ]
    await Person.filter(telegram_id=1).update(station_id=None)
    stationless = await identify(1)
    assert stationless is not None
    assert await emergency_numbers(stationless) == []
