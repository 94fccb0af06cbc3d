"""What features want to hear back from the outbox: delivered, failed for good, blocked."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.notify import DeliveryResult

logger = logging.getLogger(__name__)

Hook = Callable[[DeliveryResult], Awaitable[None]]


@dataclass(frozen=True)
class _Hooks:
    delivered: Hook | None = None
    failed: Hook | None = None
    blocked: Hook | None = None


@dataclass
class DeliveryHooks:
    """Hooks by `source_kind`, made in the wiring and handed to the DeliveryService.

    Hooks run after the outcome is committed, so a hook that fails is logged and the outcome
    stays recorded. "failed" means failed for good on every channel tried; "blocked" means
    Telegram answered 403 for the message's person (a fallback may still reach them).
    """

    _by_kind: dict[str, list[_Hooks]] = field(default_factory=dict)

    def on(
        self,
        source_kind: str,
        *,
        delivered: Hook | None = None,
        failed: Hook | None = None,
        blocked: Hook | None = None,
    ) -> None:
        """Call these when a message written with `source_kind` reaches that outcome."""
        hooks = _Hooks(delivered=delivered, failed=failed, blocked=blocked)
        self._by_kind.setdefault(source_kind, []).append(hooks)

    def wants(self, source_kind: str | None) -> bool:
        """True when something listens to messages of this kind."""
        return source_kind is not None and source_kind in self._by_kind

    async def run(self, event: str, result: DeliveryResult) -> None:
        """Call the `event` hooks of the result's kind; a failing hook is logged only."""
        if result.source_kind is None:
            return
        for hooks in self._by_kind.get(result.source_kind, []):
            hook: Hook | None = getattr(hooks, event)
            if hook is None:
                continue
            try:
                await hook(result)
            except Exception:
                logger.exception(
                    "%s hook of %s failed for outbox message %s",
                    event,
                    result.source_kind,
                    result.message_id,
                )
