"""Hostile updates for property tests: what a modified client or a careless person could send,
and a harness that feeds them through the real handler stack against the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from hypothesis import strategies as st
from telegram import Update

from bot.app import TelegramApp
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as SandboxPerson
from handlers.chat.edge import ErrorEdge
from services.callbacks import (
    MAX_ID,
    CheckInAsk,
    DutyDay,
    DutyPick,
    LanguagePick,
    LeaveVerdict,
    OutingMove,
    OutingNotMe,
    OutingReply,
    OutingVerdict,
    StationRoster,
    encode,
)
from services.commands import COMMANDS

HUGE = st.sampled_from([0, -1, 2**31, 2**53 + 1, MAX_ID, MAX_ID + 1, 2**64, 10**30, -(2**63)])
ID_TEXT = st.one_of(st.integers(min_value=-(10**25), max_value=10**25).map(str), HUGE.map(str))
DAY_TEXT = st.one_of(
    st.sampled_from(
        [
            "2026-13-45",
            "9999-12-31",
            "0000-00-00",
            "2026-02-30",
            "02-29",
            "1-1",
            "-1-01",
            "2026-1-5",
            "20260105",
            "99999-01-01",
        ]
    ),
    st.dates().map(date.isoformat),
)
MONTH_TEXT = st.sampled_from(
    ["9999-12", "0001-01", "2026-13", "2026-00", "-5", "2026", "x", "10000-01", "2026-1", "１２"]
)
WORDS = st.text(max_size=40)
ARGUMENT = st.one_of(WORDS, ID_TEXT, DAY_TEXT, MONTH_TEXT, st.text(min_size=60, max_size=300))


@st.composite
def command_text(draw: st.DrawFn) -> str:
    """/command ARGS: contract commands, unknown ones, long /start codes, odd arguments."""
    name = draw(
        st.one_of(
            st.sampled_from([spec.name for spec in COMMANDS]),
            st.from_regex(r"[a-z_]{1,40}", fullmatch=True),
        )
    )
    suffix = draw(st.sampled_from(["", "@outpost_test_bot", "@someone_else_bot"]))
    if name == "start" and draw(st.booleans()):
        code = draw(st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ23456789-_", max_size=300))
        return f"/start {code}"
    args = draw(st.lists(ARGUMENT, max_size=4))
    return " ".join([f"/{name}{suffix}", *args]).strip()


def _forged(prefix: str) -> st.SearchStrategy[str]:
    field = st.one_of(ID_TEXT, DAY_TEXT.map(lambda text: text.replace("-", "")), WORDS)
    return st.lists(field, max_size=4).map(lambda fields: ":".join([prefix, *fields]))


def _fits(data: str) -> bool:
    return len(data.encode()) <= 64


CALLBACK_DATA = st.one_of(
    st.just(""),
    st.text(max_size=64).filter(_fits),
    st.sampled_from(
        [
            "leave:ok:12",
            "duty:d:2026-13-45",
            "duty:s:2026-01-05:7",
            "checkin:ask",
            "lang:en",
            "roster:1",
            f"leave:ok:{2**63}",
            f"roster:{2**64}",
            "lv1",
            f"lv1:a:{2**63}",
            "dd1:20261345",
            "ds1:20260230:1",
            "lg1:xx",
            "ro1:0",
        ]
    ),
    st.sampled_from(["lv1", "dd1", "ds1", "ci1", "lg1", "ro1"]).flatmap(_forged).filter(_fits),
    st.builds(LeaveVerdict, st.integers(1, MAX_ID), st.booleans()).map(encode),
    st.builds(DutyDay, st.dates()).map(encode),
    st.builds(DutyPick, st.dates(), st.integers(1, MAX_ID)).map(encode),
    st.just(encode(CheckInAsk())),
    st.sampled_from(["en", "zh-Hans", "fr", "xx", "zh"]).map(LanguagePick).map(encode),
    st.builds(StationRoster, st.integers(1, MAX_ID)).map(encode),
    st.sampled_from(["ov1", "om1", "oq1", "oc1"]).flatmap(_forged).filter(_fits),
    st.builds(OutingVerdict, st.integers(1, MAX_ID), st.sampled_from("arq")).map(encode),
    st.builds(OutingMove, st.integers(1, MAX_ID), st.sampled_from("lbmhk")).map(encode),
    st.builds(OutingReply, st.integers(1, MAX_ID), st.integers(1, MAX_ID)).map(encode),
    st.builds(OutingNotMe, st.integers(1, MAX_ID)).map(encode),
)
COORDINATE = st.one_of(
    st.floats(min_value=-90, max_value=90),
    st.sampled_from([6.4281, 3.4219, 90.0001, -180.5, 1e308, -1e308, 0.0]),
)


@dataclass(frozen=True)
class Act:
    """One hostile thing someone does."""

    sender: str
    kind: str  # text | command | location | contact | callback | edited | group
    payload: Any


def acts(senders: list[str]) -> st.SearchStrategy[Act]:
    """Anything a person could send, with hostile values."""
    who = st.sampled_from(senders)
    return st.one_of(
        st.builds(
            Act,
            who,
            st.just("text"),
            st.one_of(
                WORDS,
                st.sampled_from(["SOS", "🆘", "help", "/", "//", "/ start", "\u0000", "a" * 4096]),
            ),
        ),
        st.builds(Act, who, st.just("command"), command_text()),
        st.builds(
            Act,
            who,
            st.just("location"),
            st.tuples(
                COORDINATE,
                COORDINATE,
                st.one_of(st.none(), st.floats(0, 1e6)),
                st.one_of(st.none(), st.sampled_from([0, 60, 86400, 0x7FFFFFFF, -5, 2**40])),
            ),
        ),
        st.builds(
            Act,
            who,
            st.just("contact"),
            st.tuples(
                st.one_of(st.from_regex(r"\+?[0-9]{0,20}", fullmatch=True), WORDS),
                st.one_of(st.none(), st.booleans()),
            ),
        ),
        st.builds(Act, who, st.just("callback"), CALLBACK_DATA),
        st.builds(Act, who, st.just("edited"), st.one_of(command_text(), WORDS)),
        st.builds(Act, who, st.just("group"), st.one_of(command_text(), CALLBACK_DATA)),
    )


class HostileHarness:
    """Feeds acts through the real Application (gate, handlers, error edge) one update at a
    time, the sandbox standing in for Telegram; remembers what was left unanswered."""

    def __init__(
        self, server: SandboxServer, application: TelegramApp, people: dict[str, SandboxPerson]
    ) -> None:
        self.server = server
        self.application = application
        self.people = people
        self.edge = next(h for h in application.error_handlers if isinstance(h, ErrorEdge))
        self.unanswered: list[str] = []
        self.updates = 0
        self.group = server.add_group("Hostile group", list(people.values()))

    async def act(self, act: Act) -> None:
        """Do the act as a Telegram client would, then handle every update it produced."""
        person = self.people[act.sender]
        self.unanswered = []
        queries = []
        if act.kind in ("text", "command"):
            person.send_text(act.payload)
        elif act.kind == "location":
            lat, lon, accuracy, live = act.payload
            location: dict[str, Any] = {"latitude": lat, "longitude": lon}
            if accuracy is not None:
                location["horizontal_accuracy"] = accuracy
            if live is not None:
                location["live_period"] = live
            person._send({"location": location})
        elif act.kind == "contact":
            phone, someone_else = act.payload
            contact: dict[str, Any] = {"phone_number": phone, "first_name": "X"}
            if someone_else is not None:
                contact["user_id"] = person.id + 1 if someone_else else person.id
            person._send({"contact": contact})
        elif act.kind == "callback":
            queries.append(person.send_crafted_callback(act.payload).query)
        elif act.kind == "edited":
            sent = person.send_text("hello")
            await self._drain()
            edited = dict(sent.data, text=act.payload, edit_date=self.server.sandbox.now())
            self.server.sandbox.push_update(person.account, "edited_message", edited)
        elif act.kind == "group":
            if act.payload.startswith("/"):
                self.group.say(person, act.payload)
            elif self.group.last_message is not None:
                queries.append(
                    person._press_inline(
                        self.group.last_message, {"callback_data": act.payload}
                    ).query
                )
            else:
                self.group.say(person, "/help")
        await self._drain()
        for query in queries:
            if query is not None and query.answer is None:
                self.unanswered.append(f"{act.sender}: {query.data!r}")

    async def _drain(self) -> None:
        account = self.server.sandbox.bots[next(iter(self.server.sandbox.bots))]
        while account.updates:
            raw = account.updates.pop(0)
            update = Update.de_json(raw, self.application.bot)
            self.updates += 1
            await self.application.process_update(update)
