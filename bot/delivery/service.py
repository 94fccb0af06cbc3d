"""Delivery workers: claim due outbox rows by lane, send at Telegram's pace, record every try."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import random
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.delivery.base import Outcome, RenderedMessage, Sender
from bot.delivery.config import DeliveryConfig
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.limiter import RateLimiter
from db import outbox
from db.enums import Channel, DeliveryStatus, Lane
from db.models import OutboxAttachment, OutboxMessage
from db.outbox import Settlement
from i18n import translate
from services.clock import Clock, SystemClock
from services.notify import EDIT, SEND, DeliveryResult, OutboxWakeup, use_wakeup

logger = logging.getLogger(__name__)

# After a wake-up from this process, look for the new row this often until it shows up
# (the writer's transaction may commit a moment after notify() returned).
FAST_POLL_SECONDS = 0.02
FAST_POLL_WINDOW_SECONDS = 1.0
PROBE_BATCH = 16
# How many sent messages' Telegram ids a worker remembers for edits that follow at once.
SENT_LATELY = 10_000


@dataclass
class _Job:
    """A claimed row waiting in this worker for its turn."""

    row: OutboxMessage
    token: str
    language: str
    chat: str
    paced: bool
    paid: bool

    @property
    def order(self) -> tuple[int, int]:
        """Highest lane first, then in the order written (a chat gets its replies in order)."""
        return (int(self.row.lane), int(self.row.id))


def default_worker_id() -> str:
    """host-pid-random: unique among the workers sharing one database."""
    return f"{socket.gethostname()[:24]}-{os.getpid()}-{secrets.token_hex(3)}"


class DeliveryService:
    """One worker per process: claims due rows, sends them through the channel senders."""

    def __init__(
        self,
        *,
        senders: Mapping[Channel, Sender],
        config: DeliveryConfig | None = None,
        clock: Clock | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
        rate_clock: Callable[[], float] | None = None,
        hooks: DeliveryHooks | None = None,
        wakeup: OutboxWakeup | None = None,
    ) -> None:
        self.config = config or DeliveryConfig()
        self.hooks = hooks or DeliveryHooks()
        self.wakeup = wakeup or OutboxWakeup()
        self.senders = dict(senders)
        self.clock: Clock = clock or SystemClock()
        self.worker_id = worker_id or default_worker_id()
        # Seconds for pacing; by default the business clock, so tests can move both together.
        self.limiter = RateLimiter(
            self.config.rate, rate_clock or (lambda: self.clock.now().timestamp())
        )
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._claims = itertools.count(1)
        self._queue: list[_Job] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        # Claimed rows between the queue and the end of their send, by message id.
        self._held: dict[int, _Job] = {}
        # Chats with a message being confirmed or sent: one at a time per chat, in order.
        self._busy_chats: set[str] = set()
        self._launching = 0
        self._next_renew = 0.0
        # Telegram ids of messages this worker sent lately, by outbox id: an edit that follows
        # its original at once need not wait for the original's outcome to be committed.
        self._sent_lately: OrderedDict[int, str] = OrderedDict()
        self._settlements: list[Settlement] = []
        self._kick = asyncio.Event()
        self._settle_kick = asyncio.Event()
        self._settled = asyncio.Event()
        self._stopping = False
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._wake_lane: int | None = None
        self._fast_until = 0.0
        self._next_poll = 0.0
        self._next_probe = 0.0
        self.sent = 0
        self.failed = 0
        self.retried = 0
        self.throttled = 0

    # -- life cycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._runner is not None and not self._runner.done()

    async def start(self) -> None:
        """Start the senders and the worker; it wakes on notify() in this process."""
        if self.running:
            return
        for sender in self.senders.values():
            await sender.start()
        self._stopping = False
        self._closing = False
        self.wakeup.add(self.wake)
        use_wakeup(self.wakeup)
        self._recorder = asyncio.create_task(self._record_loop(), name="outbox-recorder")
        self._runner = asyncio.create_task(self._run(), name="outbox-worker")
        logger.info("delivery worker %s started", self.worker_id)

    async def stop(self) -> None:
        """Stop claiming, let sends in flight finish, record them, hand back the rest."""
        if self._runner is None:
            return
        self.wakeup.remove(self.wake)
        self._stopping = True
        self._kick.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner
        if self._in_flight:
            _, pending = await asyncio.wait(
                self._in_flight, timeout=self.config.worker.drain_seconds
            )
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        # The recorder writes what is left and ends; cancelling it mid-write could leave the
        # SQLite transaction lock taken.
        self._closing = True
        self._settle_kick.set()
        if self._recorder is not None:
            await self._recorder
            self._recorder = None
        self._queue.clear()
        released = await outbox.release_claims(f"{self.worker_id}:", now=self.clock.now())
        for sender in self.senders.values():
            await sender.stop()
        self._runner = None
        logger.info("delivery worker %s stopped, %d rows handed back", self.worker_id, released)

    def wake(self, lane: Lane | None = None) -> None:
        """Look for new rows now (called by notify() in this process)."""
        level = int(lane) if lane is not None else max(Lane)
        self._wake_lane = level if self._wake_lane is None else min(self._wake_lane, level)
        self._fast_until = time.monotonic() + FAST_POLL_WINDOW_SECONDS
        self._kick.set()

    async def idle(self) -> None:
        """Wait until nothing is queued, in flight or waiting to be recorded (for tests)."""
        while self._queue or self._in_flight or self._settlements or self._launching:
            self._settled.clear()
            await self._settled.wait()

    # -- the loop ---------------------------------------------------------------------------

    def _batch_size(self) -> int:
        rate = self.config.rate
        per_second = rate.paid_per_second if rate.allow_paid_broadcast else rate.per_second
        return max(PROBE_BATCH, min(self.config.worker.max_batch, int(per_second / 2)))

    async def _run(self) -> None:
        while not self._stopping:
            self._kick.clear()
            try:
                await self._claim()
                await self._renew()
                wait, chosen = self._dispatch()
                await self._launch(chosen)
            except Exception:
                logger.exception("delivery worker %s: claim failed", self.worker_id)
                wait = self.config.worker.poll_seconds
            if self._stopping:
                break
            if not self._kick.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._kick.wait()

    async def _claim(self) -> None:
        if self._stopping:
            return
        now_mono = time.monotonic()
        worker = self.config.worker
        batch = self._batch_size()
        held = len(self._queue) + len(self._in_flight)
        woken = self._wake_lane
        self._wake_lane = None
        rows: list[OutboxMessage] = []
        if held < batch // 2 and (
            woken is not None or now_mono >= self._next_poll or now_mono < self._fast_until
        ):
            rows = await self._take(batch - held, None)
            if rows:
                self._fast_until = 0.0
            full = len(rows) >= batch - held
            self._next_poll = now_mono + (0.0 if full else worker.poll_seconds)
            self._next_probe = now_mono + worker.probe_seconds
        elif self._queue:
            top = min(int(job.row.lane) for job in self._queue)
            if top > 0 and (
                (woken is not None and woken < top)
                or now_mono >= self._next_probe
                or now_mono < self._fast_until
            ):
                rows = await self._take(PROBE_BATCH, top - 1)
                if rows:
                    self._fast_until = 0.0
                self._next_probe = now_mono + worker.probe_seconds
        if rows:
            await self._enqueue(rows)

    async def _take(self, limit: int, max_lane: int | None) -> list[OutboxMessage]:
        now = self.clock.now()
        token = f"{self.worker_id}:{next(self._claims)}"
        lease = now + timedelta(seconds=self.config.worker.lease_seconds)
        rows = await outbox.claim_due(
            now=now, token=token, lease_until=lease, limit=limit, max_lane=max_lane
        )
        return rows

    async def _enqueue(self, rows: list[OutboxMessage]) -> None:
        languages = await outbox.recipient_languages(
            row.recipient_id  # type: ignore[attr-defined]
            for row in rows
            if row.recipient_id is not None  # type: ignore[attr-defined]
        )
        paid_lane = self.config.rate.allow_paid_broadcast
        blocked = await outbox.blocked_recipients(
            row.recipient_id  # type: ignore[attr-defined]
            for row in rows
            if self._falls_back(row) and Channel(row.channel) == Channel.TELEGRAM
        )
        reroute = {
            person_id
            for person_id, channels in blocked.items()
            if set(channels) & set(self._next_channels_of(Channel.TELEGRAM))
        }
        for row in rows:
            channel = Channel(row.channel)
            sender = self.senders.get(channel)
            person_id = row.recipient_id  # type: ignore[attr-defined]
            language = languages.get(person_id, row.language) if person_id else row.language
            if channel == Channel.TELEGRAM and person_id in reroute:
                # Telegram refused this person before: the emergency goes to the next channel
                # now instead of waiting for another 403.
                job = _Job(row, str(row.claimed_by), language, row.address, False, False)
                skipped = Outcome("failed", error="the person has blocked the bot")
                self._settle(self._settlement(job, skipped, 0.0))
                continue
            self._queue.append(
                _Job(
                    row=row,
                    token=str(row.claimed_by),
                    language=language,
                    chat=row.address if channel == Channel.TELEGRAM else "",
                    paced=bool(sender is not None and sender.paced),
                    paid=paid_lane and row.lane == Lane.BROADCAST,
                )
            )
        self._queue.sort(key=lambda job: job.order)

    def _dispatch(self) -> tuple[float, list[_Job]]:
        """Choose every send that may go now, highest lane first; and how long to wait.

        A chat has at most one message being sent: its next one waits for the answer, so the
        replies to one update arrive in the order they were written.
        """
        worker = self.config.worker
        give_back_after = worker.lease_seconds / 4
        wait = worker.poll_seconds
        chosen: list[_Job] = []
        passed: set[str] = set()
        index = 0
        room = worker.max_in_flight - len(self._in_flight) - self._launching
        while index < len(self._queue) and len(chosen) < room:
            job = self._queue[index]
            if job.chat and (job.chat in self._busy_chats or job.chat in passed):
                index += 1
                continue
            if job.paced:
                delay = self.limiter.delay(job.chat, paid=job.paid)
                if delay > 0:
                    passed.add(job.chat)
                    if delay > give_back_after:
                        # A chat that waits long hands its rows back instead of holding leases.
                        self._queue.pop(index)
                        self._give_back(job, delay)
                        continue
                    wait = min(wait, delay)
                    index += 1
                    continue
                self.limiter.take(job.chat, paid=job.paid)
            self._queue.pop(index)
            if job.chat:
                self._busy_chats.add(job.chat)
            chosen.append(job)
        if self._queue and len(chosen) >= room:
            wait = worker.poll_seconds
        if time.monotonic() < self._fast_until:
            wait = min(wait, FAST_POLL_SECONDS)
        elif self._queue and min(int(job.row.lane) for job in self._queue) > 0:
            wait = min(wait, worker.probe_seconds)
        return max(wait, 0.0005), chosen

    async def _launch(self, chosen: list[_Job]) -> None:
        """Confirm the claims in the database, then start the sends that are still ours."""
        if not chosen:
            return
        self._launching += len(chosen)
        try:
            held = await self._confirm(chosen)
        except Exception:
            for job in chosen:
                self._busy_chats.discard(job.chat)
            self._queue.extend(chosen)
            self._queue.sort(key=lambda job: job.order)
            raise
        finally:
            self._launching -= len(chosen)
        for job in chosen:
            if int(job.row.id) not in held:
                self._busy_chats.discard(job.chat)
                logger.info(
                    "outbox message %s not sent: cancelled or its lease ran out", job.row.id
                )
                continue
            self._held[int(job.row.id)] = job
            task = asyncio.create_task(self._deliver(job))
            self._in_flight.add(task)
        if not self._queue and not self._in_flight and not self._settlements:
            self._settled.set()

    async def _confirm(self, jobs: list[_Job]) -> set[int]:
        """Renew the leases of `jobs`; the ids still held (not cancelled, not lost)."""
        now = self.clock.now()
        return await outbox.confirm_held(
            {job.token for job in jobs},
            [int(job.row.id) for job in jobs],
            now=now,
            lease_until=now + timedelta(seconds=self.config.worker.lease_seconds),
        )

    async def _renew(self) -> None:
        """Renew the leases of what this worker holds before they run out; drop what it lost."""
        now_mono = time.monotonic()
        if now_mono < self._next_renew:
            return
        self._next_renew = now_mono + self.config.worker.lease_seconds / 3
        jobs = [*self._queue, *self._held.values()]
        if not jobs:
            return
        held = await self._confirm(jobs)
        lost = [job for job in self._queue if int(job.row.id) not in held]
        if lost:
            self._queue = [job for job in self._queue if int(job.row.id) in held]
            logger.info(
                "delivery worker %s: %d queued rows cancelled or lost", self.worker_id, len(lost)
            )

    def _give_back(self, job: _Job, delay: float) -> None:
        self._settle(
            Settlement(
                message_id=int(job.row.id),
                token=job.token,
                status=DeliveryStatus.PENDING,
                at=self.clock.now(),
                attempts=int(job.row.attempts),
                next_attempt_at=self.clock.now() + timedelta(seconds=delay),
            )
        )

    # -- one send ---------------------------------------------------------------------------

    def render(self, job: _Job) -> RenderedMessage:
        """The row's text and buttons in its recipient's language."""
        row = job.row
        params: dict[str, Any] = dict(row.params or {})
        buttons = None
        if row.buttons:
            buttons = [
                [
                    {
                        **{k: v for k, v in spec.items() if k not in ("text", "params")},
                        "text": translate(job.language, spec["text"], **spec.get("params", {})),
                    }
                    for spec in line
                ]
                for line in row.buttons
            ]
        return RenderedMessage(
            message_id=int(row.id),
            channel=Channel(row.channel),
            lane=Lane(row.lane),
            address=row.address,
            text=(
                row.text if row.text is not None else translate(job.language, row.msgid, **params)
            ),
            buttons=buttons,
            paid=job.paid,
            reply_markup=row.reply_markup,
            parse_mode=row.parse_mode,
        )

    async def _with_attachment(self, job: _Job) -> RenderedMessage:
        rendered = self.render(job)
        if job.row.attachment_id is None:
            return rendered
        attachment = await OutboxAttachment.get(id=job.row.attachment_id)
        return dataclasses.replace(
            rendered, document=(attachment.file_name, bytes(attachment.data))
        )

    async def _edited(self, job: _Job) -> RenderedMessage | Settlement:
        """An edit ready to send, or what to record when its original is not sent."""
        row = job.row
        original = await OutboxMessage.get_or_none(id=row.edit_of_id)
        now = self.clock.now()
        status = DeliveryStatus(original.status) if original is not None else None
        if original is not None and int(original.id) in self._sent_lately:
            # Sent by this worker a moment ago; its outcome may not be committed yet.
            status = DeliveryStatus.SENT
            original.external_id = self._sent_lately[int(original.id)]
        if original is not None and status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            wait = timedelta(seconds=self.config.lanes.edit_wait_seconds)
            return Settlement(
                message_id=int(row.id),
                token=job.token,
                status=DeliveryStatus.PENDING,
                at=now,
                attempts=int(row.attempts),
                next_attempt_at=now + wait,
            )
        if original is None or status != DeliveryStatus.SENT or not original.external_id:
            return Settlement(
                message_id=int(row.id),
                token=job.token,
                status=DeliveryStatus.CANCELLED,
                at=now,
                attempts=int(row.attempts),
                last_error="the original message was not delivered",
            )
        return dataclasses.replace(
            self.render(job),
            address=original.address,
            edit_of=original.external_id,
            edit_caption=original.attachment_id is not None,
        )

    async def _deliver(self, job: _Job) -> None:
        started = time.perf_counter()
        try:
            sender = self.senders.get(Channel(job.row.channel))
            if sender is None:
                outcome = Outcome("retry", error=f"no sender for channel {job.row.channel}")
            else:
                message: RenderedMessage | Settlement | Outcome
                try:
                    message = await (
                        self._edited(job) if job.row.action == EDIT else self._with_attachment(job)
                    )
                except Exception as exc:
                    logger.exception("outbox message %s: preparing it failed", job.row.id)
                    message = Outcome("retry", error=f"{type(exc).__name__}")
                if isinstance(message, Settlement):
                    self._settle(message)
                    return
                outcome = (
                    message if isinstance(message, Outcome) else await self._send(sender, message)
                )
            elapsed_ms = (time.perf_counter() - started) * 1000
            self._settle(self._settlement(job, outcome, elapsed_ms))
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._in_flight.discard(task)
            self._held.pop(int(job.row.id), None)
            self._busy_chats.discard(job.chat)
            self._kick.set()

    async def _send(self, sender: Sender, message: RenderedMessage) -> Outcome:
        """One try through the channel; an unexpected error is a retry, never a lost row."""
        try:
            return await sender.send(message)
        except asyncio.CancelledError:
            return Outcome("retry", error="cancelled while sending")
        except Exception as exc:
            logger.exception("outbox message %s: sender failed", message.message_id)
            return Outcome("retry", error=f"{type(exc).__name__}")

    def _settlement(self, job: _Job, outcome: Outcome, elapsed_ms: float) -> Settlement:
        settlement = self._settlement_of(job, outcome, elapsed_ms)
        # The row goes with its outcome to the hooks, run once the outcome is committed.
        settlement.extra["row"] = job.row
        return settlement

    def _settlement_of(self, job: _Job, outcome: Outcome, elapsed_ms: float) -> Settlement:
        row = job.row
        now = self.clock.now()
        base: dict[str, Any] = {
            "message_id": int(row.id),
            "token": job.token,
            "at": now,
            "outcome": outcome.kind if outcome.kind != "throttled" else "retry",
            "http_status": outcome.http_status,
            "duration_ms": elapsed_ms,
        }
        if outcome.kind == "sent":
            self.sent += 1
            if outcome.external_id is not None and row.action == SEND:
                self._sent_lately[int(row.id)] = outcome.external_id
                if len(self._sent_lately) > SENT_LATELY:
                    self._sent_lately.popitem(last=False)
            # Reached on Telegram: settle() clears the person's bot_blocked_at.
            on_telegram = Channel(row.channel) == Channel.TELEGRAM
            person_id = row.recipient_id  # type: ignore[attr-defined]
            return Settlement(
                status=DeliveryStatus.SENT,
                attempts=row.attempts + 1,
                external_id=outcome.external_id,
                extra={"person_id": person_id if on_telegram else None},
                **base,
            )
        if outcome.kind == "throttled":
            self.throttled += 1
            seconds = outcome.retry_after if outcome.retry_after is not None else 1.0
            if job.paced:
                self.limiter.retry_after(job.chat, seconds)
            logger.info("outbox message %s: 429, retry after %.1f s", row.id, seconds)
            return Settlement(
                status=DeliveryStatus.PENDING,
                attempts=row.attempts,
                next_attempt_at=now + timedelta(seconds=seconds),
                retry_after_s=seconds,
                error_code=429,
                last_error=outcome.error,
                **base,
            )
        attempts = row.attempts + 1
        retry = self.config.retry
        too_old = (now - row.created_at).total_seconds() > retry.max_age_seconds
        next_channels = self._next_channels(row)
        max_attempts = (
            min(retry.max_attempts, self.config.lanes.fallback_after_attempts)
            if next_channels
            else retry.max_attempts
        )
        if outcome.kind == "retry" and attempts < max_attempts and not too_old:
            self.retried += 1
            delay = min(
                retry.backoff_max_seconds, retry.backoff_base_seconds * 2 ** (attempts - 1)
            )
            delay *= 1 + self._rng.uniform(-retry.jitter, retry.jitter)
            logger.info(
                "outbox message %s: attempt %d failed (%s), next in %.1f s",
                row.id,
                attempts,
                outcome.http_status or "no answer",
                delay,
            )
            return Settlement(
                status=DeliveryStatus.PENDING,
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                error_code=outcome.http_status,
                last_error=outcome.error,
                **base,
            )
        self.failed += 1
        reason = outcome.error
        if outcome.kind == "retry":
            base["outcome"] = "failed"
            reason = f"gave up after {attempts} attempts: {outcome.error}"
        logger.warning(
            "outbox message %s failed for good (%s)", row.id, outcome.http_status or "no answer"
        )
        return Settlement(
            status=DeliveryStatus.FAILED,
            attempts=attempts,
            error_code=outcome.http_status,
            last_error=reason,
            blocked_person_id=(
                row.recipient_id if outcome.blocked else None  # type: ignore[attr-defined]
            ),
            fallback_channels=next_channels,
            **base,
        )

    def _falls_back(self, row: OutboxMessage) -> bool:
        """True when this row's lane goes to the person's next channel instead of failing."""
        return (
            row.action == SEND
            and row.recipient_id is not None  # type: ignore[attr-defined]
            and Lane(row.lane) in self.config.lanes.fallback_lanes
        )

    def _next_channels(self, row: OutboxMessage) -> tuple[Channel, ...]:
        """The configured channels after this row's, for a lane that falls back."""
        if not self._falls_back(row):
            return ()
        return self._next_channels_of(Channel(row.channel))

    def _next_channels_of(self, channel: Channel) -> tuple[Channel, ...]:
        order = self.config.lanes.channel_order
        later = order[order.index(channel) + 1 :] if channel in order else ()
        return tuple(item for item in later if item in self.senders)

    # -- recording --------------------------------------------------------------------------

    def _settle(self, settlement: Settlement) -> None:
        self._settlements.append(settlement)
        self._settle_kick.set()

    async def _flush(self) -> None:
        while self._settlements:
            batch, self._settlements = self._settlements, []
            try:
                fallbacks = await outbox.settle(batch)
            except Exception:
                logger.exception(
                    "delivery worker %s: recording %d outcomes failed", self.worker_id, len(batch)
                )
                self._settlements[:0] = batch
                if self._closing:
                    return
                await asyncio.sleep(0.5)
                continue
            await self._tell(batch, fallbacks)
        if not self._queue and not self._in_flight and not self._launching:
            self._settled.set()

    async def _tell(self, batch: list[Settlement], fallbacks: dict[int, int]) -> None:
        """Run the features' hooks for outcomes just committed."""
        for item in batch:
            if item.status not in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
                continue
            row = item.extra.get("row")
            if not isinstance(row, OutboxMessage) or not self.hooks.wants(row.source_kind):
                continue
            result = DeliveryResult(
                message_id=item.message_id,
                action=row.action,
                source_kind=row.source_kind,
                source_id=row.source_id,
                person_id=row.recipient_id,  # type: ignore[attr-defined]
                channel=Channel(row.channel),
                lane=Lane(row.lane),
                at=item.at,
                error_code=item.error_code,
                reason=item.last_error,
                fallback_message_id=fallbacks.get(item.message_id),
            )
            if item.blocked_person_id is not None:
                await self.hooks.run("blocked", result)
            if item.status == DeliveryStatus.SENT:
                await self.hooks.run("delivered", result)
            elif result.fallback_message_id is None:
                await self.hooks.run("failed", result)

    async def _record_loop(self) -> None:
        # Group commit: whatever finished while the last write ran goes in the next one.
        while True:
            await self._settle_kick.wait()
            self._settle_kick.clear()
            await self._flush()
            self._settled.set()
            if self._closing and not self._settlements:
                return
