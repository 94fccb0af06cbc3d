"""One rate limiter per process: Telegram's overall, per-chat and per-group limits and 429s."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.delivery.config import RateConfig

logger = logging.getLogger(__name__)

TimeSource = Callable[[], float]

# Two 429s for different chats within this many seconds mean the bot as a whole is throttled.
GLOBAL_429_WINDOW = 1.0


@dataclass
class TokenBucket:
    """`capacity` tokens refilled at `rate` per second; starts full."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def delay(self, now: float) -> float:
        """Seconds until one token is available."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Spend one token (may go below zero: the next caller waits longer)."""
        self._refill(now)
        self.tokens -= 1

    def full(self, now: float) -> bool:
        """True when the bucket has refilled completely (it can be forgotten)."""
        self._refill(now)
        return self.tokens >= self.capacity


def is_group(chat: str) -> bool:
    """Telegram groups and channels have negative ids."""
    return chat.startswith("-")


class RateLimiter:
    """Says how long a message to one chat must wait; never sleeps itself."""

    def __init__(self, config: RateConfig, now: TimeSource) -> None:
        self.config = config
        self._now = now
        start = now()
        overall = max(1.0, config.per_second * config.overall_burst_seconds)
        self._overall = TokenBucket(overall, config.per_second, overall, start)
        paid = max(1.0, config.paid_per_second * config.overall_burst_seconds)
        self._paid = TokenBucket(paid, config.paid_per_second, paid, start)
        self._chats: dict[str, TokenBucket] = {}
        self._chat_blocked_until: dict[str, float] = {}
        self._all_blocked_until = 0.0
        self._last_429: tuple[str, float] | None = None
        self.throttled = 0

    def now(self) -> float:
        """The limiter's current time in seconds."""
        return self._now()

    def _chat_bucket(self, chat: str, now: float) -> TokenBucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            if is_group(chat):
                rate = self.config.group_per_minute / 60
                bucket = TokenBucket(self.config.group_burst, rate, self.config.group_burst, now)
            else:
                burst = self.config.per_chat_burst
                bucket = TokenBucket(burst, self.config.per_chat_per_second, burst, now)
            self._chats[chat] = bucket
        return bucket

    def delay(self, chat: str, *, paid: bool = False) -> float:
        """Seconds until a message to `chat` may go (0.0: now)."""
        now = self._now()
        overall = self._paid if paid else self._overall
        wait = max(overall.delay(now), self._all_blocked_until - now)
        blocked = self._chat_blocked_until.get(chat)
        if blocked is not None:
            if blocked <= now:
                del self._chat_blocked_until[chat]
            else:
                wait = max(wait, blocked - now)
        bucket = self._chats.get(chat)
        if bucket is not None:
            wait = max(wait, bucket.delay(now))
        return max(0.0, wait)

    def take(self, chat: str, *, paid: bool = False) -> None:
        """Count one message to `chat` as sent now."""
        now = self._now()
        (self._paid if paid else self._overall).take(now)
        self._chat_bucket(chat, now).take(now)
        if len(self._chats) > 10_000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for chat in [chat for chat, bucket in self._chats.items() if bucket.full(now)]:
            del self._chats[chat]

    def retry_after(self, chat: str, seconds: float) -> bool:
        """Honour a 429 for `chat`; returns True when it was taken as bot-wide."""
        now = self._now()
        self.throttled += 1
        self._chat_blocked_until[chat] = max(
            self._chat_blocked_until.get(chat, 0.0), now + seconds
        )
        bucket = self._chat_bucket(chat, now)
        bucket.tokens = min(bucket.tokens, 0.0)
        last = self._last_429
        self._last_429 = (chat, now)
        # Telegram's 429 does not say which limit was hit; a second chat throttled right after
        # the first one means the overall limit, so everybody waits.
        if last is not None and last[0] != chat and now - last[1] <= GLOBAL_429_WINDOW:
            self._all_blocked_until = max(self._all_blocked_until, now + seconds)
            logger.warning("bot-wide flood limit: all chats wait %.1f s", seconds)
            return True
        return False
