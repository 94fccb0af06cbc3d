"""A local Telegram Bot API server with simulated people, for tests, benchmarks and the demo."""

from bot.sandbox.errors import ApiError
from bot.sandbox.faults import FaultInjector, FaultKind
from bot.sandbox.limits import FloodLimits, ManualClock
from bot.sandbox.people import Group, LiveLocation, Person, PressResult, tiny_png
from bot.sandbox.server import SandboxServer
from bot.sandbox.webapp import sign_init_data, verify_init_data, web_app_url
from bot.sandbox.world import BotAccount, ChatMessage, Sandbox, Violation

DEMO_TOKEN = "7000000000:SANDBOX-demo-token-not-for-telegram00"  # noqa: S105 - public

__all__ = [
    "DEMO_TOKEN",
    "ApiError",
    "BotAccount",
    "ChatMessage",
    "FaultInjector",
    "FaultKind",
    "FloodLimits",
    "Group",
    "LiveLocation",
    "ManualClock",
    "Person",
    "PressResult",
    "Sandbox",
    "SandboxServer",
    "Violation",
    "sign_init_data",
    "tiny_png",
    "verify_init_data",
    "web_app_url",
]
