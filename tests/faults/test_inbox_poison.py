"""An update that cannot be parsed is skipped and counted; polling goes on; its content is
never logged."""

from __future__ import annotations

import logging

import pytest

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import InboxStatus
from db.models import InboundUpdate
from tests.auxil.chat import text_of
from tests.e2e.conftest import outpost, sandbox  # noqa: F401 - fixtures

POISON_TEXT = "garbage-5e1f-do-not-log"


async def test_a_poison_update_is_skipped_and_the_next_one_answered(
    outpost: Outpost,  # noqa: F811
    sandbox: SandboxServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """{"update_id": n, "message": "garbage"} is stored as skipped, logged once by its id only,
    and the person who writes next is answered."""
    caplog.set_level(logging.DEBUG)
    account = next(iter(sandbox.sandbox.bots.values()))
    poison_id = sandbox.sandbox.push_update(account, "message", POISON_TEXT)  # type: ignore[arg-type]
    assert poison_id is not None
    visitor = sandbox.add_person(5150, "Visitor", "en")
    visitor.send_command("help")
    answer = await visitor.wait_for_message()
    assert "invitation link" in text_of(answer)

    poison = await InboundUpdate.get(update_id=poison_id)
    assert poison.status == InboxStatus.SKIPPED
    assert poison.handled_at is not None
    assert (await InboundUpdate.get(update_id=poison_id + 1)).status == InboxStatus.HANDLED
    assert outpost.poller is not None
    assert outpost.poller.poisoned == 1
    # The sandbox (Telegram's side) was asked past it: nothing is left to fetch.
    assert account.updates == []
    mentions = [r for r in caplog.records if f"update {poison_id} " in r.getMessage()]
    assert len(mentions) == 1
    assert not [r for r in caplog.records if POISON_TEXT in r.getMessage()]


async def test_an_update_that_is_not_a_dict_does_not_stop_polling(
    outpost: Outpost,  # noqa: F811
    sandbox: SandboxServer,  # noqa: F811
) -> None:
    """Not even an update id: counted, stepped over with its batch, the next one answered."""
    account = next(iter(sandbox.sandbox.bots.values()))
    account.updates.append(["not", "an", "update"])  # type: ignore[arg-type]
    visitor = sandbox.add_person(5151, "Visitor", "en")
    visitor.send_command("help")
    assert "invitation link" in text_of(await visitor.wait_for_message())
    assert outpost.poller is not None
    assert outpost.poller.poisoned == 1
