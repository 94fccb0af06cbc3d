"""Run the sandbox as its own process: python -m bot.sandbox --port 8081."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from bot.sandbox import DEMO_TOKEN
from bot.sandbox.limits import FloodLimits
from bot.sandbox.server import SandboxServer

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--bot",
        action="append",
        default=[],
        metavar="TOKEN[=USERNAME]",
        help="register a bot (repeatable); default: the demo token",
    )
    parser.add_argument(
        "--person",
        action="append",
        default=[],
        metavar="ID:FIRST_NAME[:LANG]",
        help="create a person (repeatable)",
    )
    parser.add_argument("--no-limits", action="store_true", help="disable flood limits")
    parser.add_argument("--lenient", action="store_true", help="turn strict mode off")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the server and wait for SIGINT or SIGTERM."""
    server = SandboxServer(
        args.host,
        args.port,
        strict=not args.lenient,
        seed=args.seed,
        limits=FloodLimits(enabled=not args.no_limits),
    )
    for spec in args.bot or [DEMO_TOKEN]:
        token, _, username = spec.partition("=")
        server.add_bot(token, username or "outpost_sandbox_bot")
    for spec in args.person:
        user_id, first_name, *rest = spec.split(":")
        server.add_person(int(user_id), first_name, rest[0] if rest else "en")
    await server.start()
    print(f"Sandbox Bot API: {server.base_url}<token>/<method>", flush=True)
    print(f"Browser chat:    {server.chat_url()}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
