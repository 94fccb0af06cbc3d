"""One person's updates in order, different people at the same time."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.ordering import PerPersonUpdateProcessor


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "P", is_bot=False)
    message = Message(update_id, None, Chat(user_id, "private"), from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_one_persons_updates_wait_for_each_other_others_do_not() -> None:
    """A slow first update of Ada holds back her second, not Ben's."""
    processor = PerPersonUpdateProcessor()
    log: list[str] = []
    release = asyncio.Event()

    async def handle(name: str, wait: bool) -> None:
        log.append(f"start {name}")
        if wait:
            await release.wait()
        log.append(f"end {name}")

    async with processor:
        def start(update_id: int, user_id: int, name: str, wait: bool) -> asyncio.Task[None]:
            update = _update(update_id, user_id)
            return asyncio.create_task(processor.process_update(update, handle(name, wait)))

        first, second = start(1, 7, "ada-1", True), start(2, 7, "ada-2", False)
        other = start(3, 8, "ben", False)
        await other
        assert log == ["start ada-1", "start ben", "end ben"]
        release.set()
        await asyncio.gather(first, second)
    assert log[3:] == ["end ada-1", "start ada-2", "end ada-2"]
    assert processor._queues == {}


async def test_updates_without_a_sender_are_not_held() -> None:
    """Nothing to order them by: handled at once."""
    processor = PerPersonUpdateProcessor()
    done: list[int] = []

    async def handle() -> None:
        done.append(1)

    await processor.process_update(Update(9), handle())
    assert done == [1]
