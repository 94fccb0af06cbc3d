"""Run one delivery worker on its own: python -m bot.delivery --database-url ... --api-url ..."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.app import delivery_hooks
from bot.delivery.config import DeliveryConfig, RateConfig, WorkerConfig
from bot.delivery.service import DeliveryService
from bot.delivery.telegram import TelegramSender, make_bot
from db.database import close_database, open_database
from db.enums import Channel

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bot.delivery", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--api-url", required=True, help="Bot API server, e.g. http://host:port")
    parser.add_argument("--token", required=True)
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--per-second", type=float, default=30.0)
    parser.add_argument("--paid", action="store_true", help="allow_paid_broadcast")
    parser.add_argument("--lease", type=float, default=60.0, help="lease in seconds")
    parser.add_argument("--poll", type=float, default=1.0, help="idle poll in seconds")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run the worker until SIGINT or SIGTERM."""
    await open_database(args.database_url)
    config = DeliveryConfig(
        rate=RateConfig(per_second=args.per_second, allow_paid_broadcast=args.paid),
        worker=WorkerConfig(lease_seconds=args.lease, poll_seconds=args.poll),
    )
    sender = TelegramSender(make_bot(args.token, args.api_url), own_bot=True)
    service = DeliveryService(
        senders={Channel.TELEGRAM: sender},
        config=config,
        worker_id=args.worker_id,
        hooks=delivery_hooks(),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await service.stop()
        await close_database()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
