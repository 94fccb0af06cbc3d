"""The callback-data codec: typed payloads in, the same payloads out, anything else refused."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.enums import Role
from services.callbacks import (
    MAX_BYTES,
    MAX_ID,
    Button,
    CallbackTooLong,
    CheckInAsk,
    DutyDay,
    DutyPick,
    LanguagePick,
    LeaveVerdict,
    MalformedCallback,
    SheetAsk,
    StationRoster,
    decode,
    decode_as,
    encode,
    pattern,
)

ids = st.integers(min_value=1, max_value=MAX_ID)
payloads = st.one_of(
    st.builds(LeaveVerdict, leave_id=ids, approve=st.booleans()),
    st.builds(DutyDay, day=st.dates()),
    st.builds(DutyPick, day=st.dates(), person_id=ids),
    st.just(CheckInAsk()),
    st.builds(LanguagePick, tag=st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True)),
    st.builds(StationRoster, station_id=ids),
    st.builds(SheetAsk, month=st.dates().map(lambda day: day.replace(day=1))),
)


@given(payloads)
def test_every_payload_comes_back_as_it_went(payload: Button) -> None:
    """Whatever a button carries fits 64 bytes and decodes to the same typed payload."""
    data = encode(payload)
    assert len(data.encode()) <= MAX_BYTES
    assert decode(data) == payload
    assert decode_as(data, type(payload)) == payload
    assert pattern(type(payload))(data)


def test_the_layout_is_short_and_versioned() -> None:
    """A prefix naming kind and version, then the fields."""
    assert encode(LeaveVerdict(12, approve=True)) == "lv1:a:12"
    assert encode(LeaveVerdict(12, approve=False)) == "lv1:r:12"
    assert encode(DutyPick(date(2026, 1, 5), 7)) == "ds1:20260105:7"
    assert encode(DutyDay(date(2026, 1, 5))) == "dd1:20260105"
    assert encode(CheckInAsk()) == "ci1"
    assert encode(LanguagePick("zh-Hans")) == "lg1:zh-Hans"
    assert encode(StationRoster(3)) == "ro1:3"
    assert encode(SheetAsk(date(2026, 1, 1))) == "sh1:20260101"


@pytest.mark.parametrize(
    "payload",
    [
        LeaveVerdict(0, approve=True),
        LeaveVerdict(2**63, approve=True),
        StationRoster(-1),
        StationRoster(MAX_ID + 1),
        DutyPick(date(2026, 1, 5), 2**64),
        LanguagePick("x" * 17),
        LanguagePick("en:us"),
        LanguagePick(""),
    ],
)
def test_out_of_range_fields_are_refused_when_built(payload: Button) -> None:
    """A button that could not be read back is a bug found where it is made."""
    with pytest.raises(ValueError, match=r"id out of range|short token"):
        encode(payload)


def test_data_over_64_bytes_is_refused_when_built() -> None:
    """The whole is checked, whatever the fields."""

    class Wide(LanguagePick):
        PREFIX = "w" * 62

    with pytest.raises(CallbackTooLong):
        encode(Wide("en"))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "leave:ok:12",
        "duty:d:2026-13-45",
        "duty:s:2026-01-05:7",
        "checkin:ask",
        "lang:en",
        "roster:3",
        "lv1",
        "lv1:a",
        "lv1:x:12",
        "lv1:a:12:1",
        "lv1:a:0",
        "lv1:a:012",
        f"lv1:a:{2**63}",
        f"lv1:a:{2**31}",
        "lv1:a:-5",
        "lv1:a:1e3",
        "lv1:a:１２",
        "dd1:20261345",
        "dd1:2026-01-05",
        "dd1:20260229",
        f"ds1:20260105:{2**63}",
        "ci1:",
        "ci1:x",
        "lg1:",
        "lg1:en us",
        "ro1:3:4",
        "ro1:99999999999999999999",
        "sh1:20260105",
        "sh1:",
        "LV1:a:12",
        "x" * 65,
        "lv1:a:1" + "1" * 60,
    ],
)
def test_anything_the_codec_did_not_build_is_malformed(data: str | None) -> None:
    """Old layouts, unknown prefixes, ids out of range, impossible dates, empty: refused."""
    with pytest.raises(MalformedCallback):
        decode(data)


@given(st.text(max_size=70))
def test_decoding_never_fails_otherwise(data: str) -> None:
    """Any text decodes to a payload that encodes back to it, or is refused as malformed."""
    try:
        payload = decode(data)
    except MalformedCallback:
        return
    assert encode(payload) == data


def test_decode_as_refuses_another_kind() -> None:
    """A duty button is not a leave verdict, however well-formed."""
    with pytest.raises(MalformedCallback):
        decode_as(encode(DutyDay(date(2026, 1, 5))), LeaveVerdict)


def test_role_table_lives_with_the_kinds() -> None:
    """Who may press each kind at all (the service still checks the object)."""
    staff, head, hq = frozenset({Role.STAFF}), frozenset({Role.HEAD}), frozenset({Role.HQ})
    verdict = LeaveVerdict(1, approve=True)
    assert not verdict.may_press(staff)
    assert verdict.may_press(head)
    assert verdict.may_press(hq)
    assert not DutyPick(date(2026, 1, 5), 1).may_press(hq)
    assert StationRoster(1).may_press(frozenset({Role.SAFETY}))
    assert not StationRoster(1).may_press(staff)
    assert CheckInAsk().may_press(staff)
    assert LanguagePick("en").may_press(staff)
    assert LanguagePick.WHILE_REGISTERING
    assert not CheckInAsk.WHILE_REGISTERING
    assert not verdict.may_press(frozenset())
    assert SheetAsk(date(2026, 1, 1)).may_press(head)
    assert SheetAsk(date(2026, 1, 1)).may_press(frozenset({Role.SAFETY}))
    assert not SheetAsk(date(2026, 1, 1)).may_press(staff)
