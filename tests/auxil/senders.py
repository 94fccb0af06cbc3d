"""Channel senders for delivery tests: they answer as told and note what they were given."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from bot.delivery.base import Outcome, RenderedMessage
from db.enums import Channel

Answer = Callable[[RenderedMessage], Outcome]


class FakeSender:
    """A sender that takes `latency` seconds per message (a slow network) and counts sends.

    `gate`, when given, holds every send until it is set. `sends` may be shared by several
    senders (two workers) to count how often each outbox row went out.
    """

    def __init__(
        self,
        channel: Channel = Channel.TELEGRAM,
        *,
        paced: bool = False,
        latency: float = 0.0,
        answer: Answer | None = None,
        gate: asyncio.Event | None = None,
        sends: Counter[int] | None = None,
    ) -> None:
        self.channel = channel
        self.paced = paced
        self.latency = latency
        self.answer = answer
        self.gate = gate
        self.sends: Counter[int] = Counter() if sends is None else sends
        self.messages: list[RenderedMessage] = []
        self.started: asyncio.Event = asyncio.Event()
        self._open: Counter[str] = Counter()
        # The most messages to one address being sent at the same time, and overall.
        self.most_per_address = 0
        self.most_at_once = 0

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, message: RenderedMessage) -> Outcome:
        """Note the message, wait as told, answer as told (sent by default)."""
        self.messages.append(message)
        self.sends[message.message_id] += 1
        self._open[message.address] += 1
        self.most_per_address = max(self.most_per_address, self._open[message.address])
        self.most_at_once = max(self.most_at_once, sum(self._open.values()))
        self.started.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self._open[message.address] -= 1
        if self.answer is not None:
            return self.answer(message)
        return Outcome.sent(f"{self.channel.value}-{message.message_id}")
