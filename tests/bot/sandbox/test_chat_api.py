"""The browser chat's JSON API: locations checked field by field, documents downloadable."""

from __future__ import annotations

import pytest
from telegram import InputFile

from bot.sandbox import BotAccount, Person, SandboxServer
from bot.sandbox.chat_api import read_location

from .tinybot import TOKEN, HttpClient, builder


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        (
            {"latitude": "abc", "longitude": "3.4"},
            "latitude",
            "Latitude must be a number of degrees, e.g. 6.4281 (not 'abc').",
        ),
        (
            {"latitude": "200", "longitude": "3.4"},
            "latitude",
            "Latitude must be between -90 and 90 degrees (not 200).",
        ),
        (
            {"latitude": "", "longitude": "3.4"},
            "latitude",
            "Latitude is empty: enter a number of degrees, e.g. 6.4281.",
        ),
        (
            {"latitude": "6.4"},
            "longitude",
            "Longitude is empty: enter a number of degrees, e.g. 3.4219.",
        ),
        (
            {"latitude": "6.4", "longitude": "-180.5"},
            "longitude",
            "Longitude must be between -180 and 180 degrees (not -180.5).",
        ),
        (
            {"latitude": "nan", "longitude": "3.4"},
            "latitude",
            "Latitude must be between -90 and 90 degrees (not nan).",
        ),
        (
            {"latitude": "inf", "longitude": "3.4"},
            "latitude",
            "Latitude must be between -90 and 90 degrees (not inf).",
        ),
        (
            {"latitude": "6.4", "longitude": "3.4", "horizontal_accuracy": "2000"},
            "horizontal_accuracy",
            "Accuracy must be between 0 and 1500 metres (not 2000).",
        ),
        (
            {"latitude": "6.4", "longitude": "3.4", "horizontal_accuracy": "ten"},
            "horizontal_accuracy",
            "Accuracy must be a number of metres, e.g. 20 (not 'ten').",
        ),
    ],
)
def test_bad_location_fields_get_a_reason(form: dict[str, str], field: str, reason: str) -> None:
    values, errors = read_location(form)
    assert errors == {field: reason}
    assert field not in values


def test_good_locations_are_read() -> None:
    assert read_location({"latitude": "6,4281", "longitude": " 3.4219 "}) == (
        {"latitude": 6.4281, "longitude": 3.4219},
        {},
    )
    assert read_location({"latitude": -90, "longitude": 180, "horizontal_accuracy": 0}) == (
        {"latitude": -90.0, "longitude": 180.0, "horizontal_accuracy": 0.0},
        {},
    )


async def test_bad_location_is_refused_with_reasons_and_not_sent(
    server: SandboxServer, bot_account: BotAccount, alice: Person, http: HttpClient
) -> None:
    url = f"{server.url}/sandbox/api/location"
    async with http.post(
        url, json={"user_id": alice.id, "latitude": "abc", "longitude": "200"}
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert set(body["errors"]) == {"latitude", "longitude"}
    assert "between -180 and 180" in body["errors"]["longitude"]
    assert alice.all_messages == []
    assert bot_account.updates == []
    async with http.post(
        url,
        json={
            "user_id": alice.id,
            "latitude": "6.4281",
            "longitude": "3.4219",
            "horizontal_accuracy": "",
        },
    ) as response:
        assert response.status == 200
    [update] = bot_account.updates
    assert update["message"]["location"] == {"latitude": 6.4281, "longitude": 3.4219}


async def test_document_downloads_under_its_name(
    server: SandboxServer, bot_account: BotAccount, alice: Person, http: HttpClient
) -> None:
    application = builder(server, TOKEN).updater(None).build()
    async with application:
        await application.bot.send_document(
            alice.id, InputFile(b"month,present\n", filename="考勤 2026-11.csv")
        )
    async with http.get(
        f"{server.url}/sandbox/api/chat", params={"user_id": alice.id, "since": "-1"}
    ) as response:
        [message] = (await response.json())["messages"]
    document = message["document"]
    assert document["file_name"] == "考勤 2026-11.csv"
    assert document["file_size"] == len(b"month,present\n")
    file_url = f"{server.url}/sandbox/api/files/{document['file_id']}"
    async with http.get(file_url, params={"download": "1"}) as response:
        assert response.status == 200
        assert await response.read() == b"month,present\n"
        assert response.content_disposition is not None
        assert response.content_disposition.type == "attachment"
        assert response.content_disposition.filename == "考勤 2026-11.csv"
    async with http.get(file_url) as response:
        assert "Content-Disposition" not in response.headers
