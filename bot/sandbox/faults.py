"""Injectable faults: server errors, timeouts, dropped connections and slow answers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


class FaultKind(StrEnum):
    """What goes wrong with a request."""

    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    DROP = "drop"
    SLOW = "slow"


@dataclass
class FaultRule:
    """One fault: what, how often, for which methods, and how many times at most."""

    kind: FaultKind
    rate: float = 1.0
    methods: frozenset[str] | None = None
    times: int | None = None
    status: int = 502
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str) -> bool:
        """Whether this rule applies to method (names compared case-insensitively)."""
        if self.times is not None and self.hits >= self.times:
            return False
        return self.methods is None or method.lower() in self.methods


@dataclass
class FaultInjector:
    """Seeded fault plan consulted for every Bot API request."""

    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - test randomness, not security

    def add(
        self,
        kind: FaultKind | str,
        *,
        rate: float = 1.0,
        methods: list[str] | tuple[str, ...] | None = None,
        times: int | None = None,
        status: int = 502,
        delay: float = 0.0,
    ) -> FaultRule:
        """Add a fault rule; methods None means every method."""
        rule = FaultRule(
            FaultKind(kind),
            rate,
            frozenset(m.lower() for m in methods) if methods is not None else None,
            times,
            status,
            delay,
        )
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove all fault rules."""
        self.rules.clear()

    def reseed(self, seed: int) -> None:
        """Restart the random sequence from seed."""
        self.seed = seed
        self._random = random.Random(seed)  # noqa: S311 - test randomness, not security

    def pick(self, method: str) -> FaultRule | None:
        """Return the fault to apply to this request, if any."""
        for rule in self.rules:
            if rule.matches(method) and self._random.random() < rule.rate:
                rule.hits += 1
                return rule
        return None
