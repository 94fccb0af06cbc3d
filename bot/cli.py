"""The `outpost` command: run, migrate, version."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot import __version__
from bot.settings import Settings, SettingsError, load_settings

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_FAILED = 1


def configure_logging(level: str) -> None:
    """Plain, timestamped log lines on stderr."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL, and URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def _run(settings: Settings) -> int:
    from bot.app import Outpost, StartupError

    outpost = Outpost(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await outpost.start()
    except StartupError as exc:
        print(f"outpost: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Outpost {__version__} is running. Web: {outpost.web_url}", flush=True)
    if outpost.sandbox is not None:
        print(
            "Sandbox mode (no OUTPOST_TELEGRAM_TOKEN): nothing reaches Telegram.\n"
            f"Open the sandbox chat in your browser: {outpost.sandbox.chat_url()}",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        print("Stopping…", flush=True)
        await outpost.stop()
    return 0


async def _migrate(settings: Settings) -> int:
    from db.database import apply_migrations, close_database, open_database, pending_migrations

    await open_database(settings.database_url)
    try:
        if not await pending_migrations():
            print("The database is up to date.")
            return 0
        applied = await apply_migrations(progress=lambda name: print(f"applied {name}"))
        print(f"Applied {len(applied)} migration(s).")
    finally:
        await close_database()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="outpost",
        description="Outpost: safety and field work for staff posted abroad.",
    )
    parser.add_argument("--version", action="version", version=f"outpost {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run", help="run the bot, the web app and the scheduler (the sandbox when no token)"
    )
    commands.add_parser("migrate", help="apply pending database migrations")
    commands.add_parser("version", help="print the version")
    return parser


Command = Callable[[Settings], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {"run": _run, "migrate": _migrate}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `outpost` console script."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return EXIT_CONFIG
    if args.command == "version":
        print(f"outpost {__version__}")
        return 0
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"outpost: configuration error\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level)
    try:
        return asyncio.run(COMMANDS[args.command](settings))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"outpost: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
