"""The rate limiter: Telegram's limits are per chat and for the whole bot; both are kept."""

from __future__ import annotations

from bot.delivery.config import RateConfig
from bot.delivery.limiter import RateLimiter


class Seconds:
    """A time source the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_429_pauses_only_the_chat_it_names() -> None:
    """One chat throttled for 5 s: it waits, every other chat goes now."""
    seconds = Seconds()
    limiter = RateLimiter(RateConfig(), seconds)
    assert limiter.retry_after("100", 5.0) is False
    assert limiter.delay("100") == 5.0
    assert limiter.delay("200") == 0.0
    assert limiter.delay("-300") == 0.0
    seconds.now += 5.0
    assert limiter.delay("100") == 0.0


def test_two_chats_throttled_at_once_pause_the_whole_bot() -> None:
    """A second chat throttled within a second means the bot-wide limit: everybody waits."""
    seconds = Seconds()
    limiter = RateLimiter(RateConfig(), seconds)
    limiter.retry_after("100", 3.0)
    seconds.now += 0.5
    assert limiter.retry_after("200", 3.0) is True
    assert limiter.delay("999") == 3.0
    seconds.now += 10
    limiter.retry_after("100", 3.0)
    # Far apart in time, throttles of two chats stay per chat.
    seconds.now += 2
    assert limiter.retry_after("200", 3.0) is False
    assert limiter.delay("999") == 0.0


def test_per_chat_and_overall_rates_both_hold() -> None:
    """Past a chat's burst that chat waits a second; past the bot's rate every chat waits."""
    seconds = Seconds()
    limiter = RateLimiter(RateConfig(per_second=30, per_chat_burst=3), seconds)
    for _ in range(3):
        assert limiter.delay("100") == 0.0
        limiter.take("100")
        seconds.now += 0.04
    assert limiter.delay("100") > 0.8
    assert limiter.delay("200") == 0.0
    for chat in range(40):
        limiter.take(str(1000 + chat))
    assert limiter.delay("200") > 1.0
