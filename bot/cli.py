"""The `outpost` command: run, migrate, import, export, invite, deactivate, version."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.settings import Settings, SettingsError, load_settings
from services.errors import DomainError

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
    # Tortoise says "Tortoise-ORM shutdown" at the end of every command; its SQL stays
    # visible at DEBUG.
    if logging.getLevelName(level) != logging.DEBUG:
        logging.getLogger("tortoise").setLevel(logging.WARNING)


async def _run(settings: Settings, args: argparse.Namespace) -> int:
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


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
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


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[None]:
    from db.database import DatabaseNotMigrated, close_database, open_database, require_migrated

    await open_database(settings.database_url)
    try:
        try:
            await require_migrated()
        except DatabaseNotMigrated as exc:
            raise _Refused(str(exc)) from None
        yield
    finally:
        await close_database()


class _Refused(Exception):
    """A command that cannot go on; the message says why."""


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    from services.organisation import OrganisationFileError, import_organisation, load_file

    path = Path(args.file)
    try:
        data = load_file(path)
        async with _database(settings):
            report = await import_organisation(data, source=path.name, dry_run=args.dry_run)
    except OrganisationFileError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        print(f"nothing was imported ({len(exc.errors)} error(s))", file=sys.stderr)
        return EXIT_FAILED
    for line in report.lines():
        print(line)
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    if args.what == "attendance":
        return await _export_attendance(settings, args)
    if args.what == "incidents":
        return await _export_incidents(settings, args)
    if args.what == "alert":
        return await _export_alert(settings, args)
    from services.organisation import dump, export_organisation

    async with _database(settings):
        data = await export_organisation()
    output = Path(args.output) if args.output else None
    text = dump(data, as_json=output is not None and output.suffix.lower() == ".json")
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(
            f"wrote {output}: {len(data['stations'])} station(s), {len(data['people'])} "
            f"person(s), {len(data['contacts'])} contact(s)"
        )
    return 0


async def _export_attendance(settings: Settings, args: argparse.Namespace) -> int:
    from services.attendance_sheet import attendance_workbook, parse_month, sheet_file_name
    from services.clock import SystemClock
    from services.errors import InvalidInput

    try:
        month = (
            parse_month(args.month) if args.month else SystemClock().now().date().replace(day=1)
        )
    except InvalidInput as exc:
        print(f"outpost: --month: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    async with _database(settings):
        data = await attendance_workbook(
            month, clock=SystemClock(), language=args.language or settings.default_language
        )
    output = Path(args.output or sheet_file_name(month))
    await asyncio.to_thread(output.write_bytes, data)
    print(f"wrote {output}")
    return 0


async def _export_incidents(settings: Settings, args: argparse.Namespace) -> int:
    from services.attendance_sheet import parse_month
    from services.clock import SystemClock
    from services.errors import InvalidInput
    from services.incident_report import incidents_csv, incidents_workbook, report_file_name

    try:
        month = (
            parse_month(args.month) if args.month else SystemClock().now().date().replace(day=1)
        )
    except InvalidInput as exc:
        print(f"outpost: --month: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    as_csv = bool(args.output) and str(args.output).lower().endswith(".csv")
    language = args.language or settings.default_language
    output = Path(args.output or report_file_name(month, as_csv=as_csv))
    async with _database(settings):
        if as_csv:
            text = await incidents_csv(month, language=language)
            await asyncio.to_thread(output.write_text, text, encoding="utf-8")
        else:
            data = await incidents_workbook(month, language=language)
            await asyncio.to_thread(output.write_bytes, data)
    print(f"wrote {output}")
    return 0


async def _export_alert(settings: Settings, args: argparse.Namespace) -> int:
    from services.alert_export import alert_workbook
    from services.errors import NotFound

    if args.id is None or not args.id.isdigit():
        print(
            "outpost: export alert needs the alert's number: outpost export alert ID",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        async with _database(settings):
            data = await alert_workbook(
                int(args.id), language=args.language or settings.default_language
            )
    except NotFound:
        print(f"outpost: no alert {args.id}", file=sys.stderr)
        return EXIT_CONFIG
    output = Path(args.output or f"alert-{int(args.id)}.xlsx")
    await asyncio.to_thread(output.write_bytes, data)
    print(f"wrote {output}")
    return 0


async def _bot_username(settings: Settings, override: str | None) -> str:
    if override:
        return override.lstrip("@")
    if settings.telegram_token is None:
        from bot.demo import DEMO_BOT_USERNAME

        return DEMO_BOT_USERNAME
    from telegram import Bot

    api = str(settings.telegram_api_url).rstrip("/")
    bot = Bot(settings.telegram_token.get_secret_value(), base_url=f"{api}/bot")
    async with bot:
        return bot.username


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    from db.enums import Role
    from services.clock import SystemClock
    from services.invites import create_invite, deep_link, parse_duration

    expires = None if args.expires == "never" else parse_duration(args.expires)
    username = await _bot_username(settings, args.bot_username)
    async with _database(settings):
        invite = await create_invite(
            role=Role(args.role),
            station_code=args.station,
            expires_in=expires,
            clock=SystemClock(),
        )
    print(deep_link(username, invite.code))
    until = invite.expires_at.strftime("%Y-%m-%d %H:%M UTC") if invite.expires_at else "never"
    print(
        f"single use, {args.role}{' at ' + args.station if args.station else ''}, expires {until}",
        file=sys.stderr,
    )
    return 0


async def _deactivate(settings: Settings, args: argparse.Namespace) -> int:
    from services.handover import deactivate

    async with _database(settings):
        summary = await deactivate(
            telegram_id=args.telegram_id,
            successor_telegram_id=args.handover_to,
            force=args.force,
        )
    for line in summary.lines():
        print(line)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="outpost",
        description="Outpost: safety and field work for staff posted abroad.",
    )
    parser.add_argument("--version", action="version", version=f"outpost {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run",
        help="run the bot, the web app and the scheduler (the sandbox when no token)",
        description="Run the Telegram bot, the web server (/healthz, the web app) and the "
        "scheduler until SIGTERM or Ctrl-C. Without OUTPOST_TELEGRAM_TOKEN it starts the "
        "sandbox instead of talking to Telegram: a local Bot API with a browser chat (at "
        "http://127.0.0.1:OUTPOST_SANDBOX_PORT/chat) for a demo organisation, on SQLite under "
        "./var/.",
    )
    commands.add_parser(
        "migrate",
        help="apply pending database migrations",
        description="Create the tables of OUTPOST_DATABASE_URL, or upgrade them after an "
        "upgrade of Outpost. Safe to run again: applied migrations are skipped.",
    )
    commands.add_parser("version", help="print the version", description="Print the version.")
    importing = commands.add_parser(
        "import",
        help="import an organisation file (stations, people, contacts; YAML or JSON)",
        description="Import stations, people and contacts from an organisation file (YAML, "
        "or JSON when the name ends in .json). Everything is checked first, then written in "
        "one transaction; nothing is deleted.",
    )
    importing.add_argument("file", help="the organisation file, e.g. org.yaml")
    importing.add_argument(
        "--dry-run", action="store_true", help="print what would change and write nothing"
    )
    exporting = commands.add_parser(
        "export",
        help="export data (org: the organisation file, attendance: the monthly XLSX sheet, "
        "incidents: a month's incidents and timelines, alert ID: an alert's record as XLSX)",
        description="Export the organisation file (org), a month's attendance sheet "
        "(attendance, XLSX), a month's incidents (incidents, XLSX or CSV) or an alert's record "
        "(alert ID, XLSX).",
    )
    exporting.add_argument(
        "what", choices=["org", "attendance", "incidents", "alert"], help="what to export"
    )
    exporting.add_argument("id", nargs="?", help="alert: the alert's number")
    exporting.add_argument(
        "--output",
        "-o",
        help="write to FILE (org: .json for JSON, else YAML on stdout; attendance: "
        "default attendance-YYYY-MM.xlsx; alert: default alert-ID.xlsx)",
    )
    exporting.add_argument(
        "--month", help="attendance, incidents: the month, YYYY-MM (default: this one)"
    )
    exporting.add_argument(
        "--language", help="attendance, incidents, alert: language of the headers (en, zh-Hans)"
    )
    from db.enums import Role

    inviting = commands.add_parser(
        "invite",
        help="make a single-use invitation link",
        description="Print a single-use link https://t.me/<bot>?start=<code>: whoever opens "
        "it is registered with the role (and station) given here.",
    )
    inviting.add_argument(
        "--role",
        required=True,
        choices=[str(r) for r in Role],
        help="the role the invited person gets",
    )
    inviting.add_argument("--station", help="station code (needed for staff and heads)")
    inviting.add_argument(
        "--expires", default="7d", help="how long the link works: 7d, 12h, 30m or never"
    )
    inviting.add_argument(
        "--bot-username", help="the bot's username for the link (else asked from Telegram)"
    )
    leaving = commands.add_parser(
        "deactivate",
        help="deactivate a person and hand their open items to a successor",
        description="Deactivate a person and, in one transaction, hand their open outings, "
        "unapproved weekly plans and future duty days to a successor (a head's successor "
        "becomes head of the station). Their own pending leave is cancelled.",
    )
    leaving.add_argument("telegram_id", type=int, help="Telegram user id of the person leaving")
    leaving.add_argument(
        "--handover-to",
        type=int,
        required=True,
        metavar="TELEGRAM_ID",
        help="Telegram user id of the successor (active, at the same station unless --force)",
    )
    leaving.add_argument(
        "--force", action="store_true", help="allow a successor from another station"
    )
    return parser


Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {
    "run": _run,
    "migrate": _migrate,
    "import": _import,
    "export": _export,
    "invite": _invite,
    "deactivate": _deactivate,
}


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
        return asyncio.run(COMMANDS[args.command](settings, args))
    except (DomainError, _Refused) as exc:
        print(f"outpost: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"outpost: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
