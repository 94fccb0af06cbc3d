"""The browser chat and the sandbox's small JSON control API (also used by benchmarks)."""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from bot.sandbox.faults import FaultKind
from bot.sandbox.people import Person
from bot.sandbox.world import BotAccount, ChatMessage

if TYPE_CHECKING:
    from bot.sandbox.server import SandboxServer

logger = logging.getLogger(__name__)

LONG_POLL_SECONDS = 25.0


def message_json(message: ChatMessage) -> dict[str, Any]:
    """A message as the browser chat shows it."""
    data = message.data
    out: dict[str, Any] = {
        "seq": message.seq,
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "text": data.get("text", data.get("caption")),
        "entities": data.get("entities", data.get("caption_entities", [])),
        "edited": message.edited,
        "deleted": message.deleted,
        "date": data.get("date"),
    }
    for key in ("location", "venue", "contact", "document"):
        if key in data:
            out[key] = data[key]
    if "photo" in data:
        out["photo"] = data["photo"][-1]["file_id"]
    markup = data.get("reply_markup")
    if markup:
        out["inline_keyboard"] = markup.get("inline_keyboard", [])
    return out


class ChatApi:
    """Handlers of /chat and /sandbox/api/*."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.sandbox = server.sandbox

    # lookups

    def _bot(self, name: str | None) -> BotAccount:
        """Find a bot by username or user id; the default bot when not given."""
        if not name:
            return self.sandbox.default_bot
        for account in self.sandbox.bots.values():
            if name in (account.username, str(account.user_id)):
                return account
        raise web.HTTPNotFound(text="unknown bot")

    def _person(self, data: dict[str, Any]) -> Person:
        """Find the person a request acts as."""
        try:
            user_id = int(data.get("user_id", ""))
        except ValueError:
            raise web.HTTPBadRequest(text="user_id expected") from None
        if user_id not in self.sandbox.users:
            raise web.HTTPNotFound(text="unknown person")
        account = self._bot(data.get("bot"))
        return Person(self.sandbox, self.sandbox.users[user_id], account)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        """Read a JSON body."""
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="JSON expected") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="JSON object expected")
        return body

    # pages

    async def index(self, request: web.Request) -> web.StreamResponse:
        """Redirect / to the chat."""
        raise web.HTTPFound("/chat")

    async def chat_page(self, request: web.Request) -> web.StreamResponse:
        """The browser chat page."""
        return web.FileResponse(self.server_static("chat.html"))

    def server_static(self, name: str) -> Any:
        """Path of a static file of the package."""
        from bot.sandbox.server import STATIC_DIR

        return STATIC_DIR / name

    # state

    async def state(self, request: web.Request) -> web.Response:
        """Bots, people and location presets."""
        return web.json_response(
            {
                "bots": [
                    {"username": b.username, "first_name": b.first_name, "id": b.user_id}
                    for b in self.sandbox.bots.values()
                ],
                "people": [
                    {
                        "id": u.id,
                        "first_name": u.first_name,
                        "last_name": u.last_name,
                        "username": u.username,
                        "language_code": u.language_code,
                    }
                    for u in self.sandbox.users.values()
                ],
                "presets": [
                    {"label": label, "latitude": lat, "longitude": lon}
                    for label, lat, lon in self.server.location_presets
                ],
                "version": self.sandbox.changed.version,
            }
        )

    async def chat(self, request: web.Request) -> web.Response:
        """One person's chat with a bot; long-polls while nothing changed since `since`."""
        person = self._person(dict(request.query))
        since = int(request.query.get("since", "-1"))
        with contextlib.suppress(TimeoutError):
            await self.sandbox.changed.wait_for(
                lambda: self.sandbox.changed.version != since or self.sandbox.closing,
                LONG_POLL_SECONDS,
            )
        conv = person.conversation
        keyboard = conv.reply_keyboard
        answers = conv.callback_answers
        return web.json_response(
            {
                "version": self.sandbox.changed.version,
                "bot": {
                    "username": person.account.username,
                    "first_name": person.account.first_name,
                },
                "messages": [message_json(m) for m in conv.messages if not m.deleted],
                "reply_keyboard": keyboard,
                "commands": person.visible_commands(),
                "menu_button": person.account.menu_buttons.get(person.chat.id)
                or person.account.menu_buttons.get(None),
                "last_action": conv.actions[-1] if conv.actions else None,
                "answers": [{"text": a.text, "show_alert": a.show_alert} for a in answers[-1:]],
                "answer_count": len(answers),
                "blocked": person.account.token in person.user.blocked,
            }
        )

    # acting as a person

    async def send(self, request: web.Request) -> web.Response:
        """The person sends text."""
        body = await self._body(request)
        person = self._person(body)
        text = str(body.get("text", "")).strip()
        if not text:
            raise web.HTTPBadRequest(text="text expected")
        message = person.send_text(text)
        return web.json_response({"message_id": message.message_id})

    async def press(self, request: web.Request) -> web.Response:
        """The person presses a button by its text (optionally on one message)."""
        body = await self._body(request)
        person = self._person(body)
        message = None
        if body.get("message_id") is not None:
            message = person.conversation.find(int(body["message_id"]))
        try:
            result = person.press(str(body.get("text", "")), message)
        except LookupError:
            raise web.HTTPNotFound(text="no such button") from None
        return web.json_response(
            {"url": result.url, "callback_query_id": result.query.id if result.query else None}
        )

    async def location(self, request: web.Request) -> web.Response:
        """The person shares a location; a bad field is answered 400 with
        `{"errors": {field: reason}}` for the form to show next to it.
        """
        body = await self._body(request)
        person = self._person(body)
        values, errors = read_location(body)
        if errors:
            return web.json_response({"errors": errors}, status=400)
        message = person.share_location(
            values["latitude"],
            values["longitude"],
            horizontal_accuracy=values.get("horizontal_accuracy"),
        )
        return web.json_response({"message_id": message.message_id})

    async def burst(self, request: web.Request) -> web.Response:
        """Many people act at once (benchmarks): `{"user_ids": [...], "text": ...}` or with
        `latitude`/`longitude` for locations; one request, one update per person.
        """
        body = await self._body(request)
        ids = body.get("user_ids")
        if not isinstance(ids, list) or not ids:
            raise web.HTTPBadRequest(text="user_ids expected")
        people = [self._person({"user_id": uid, "bot": body.get("bot")}) for uid in ids]
        if "latitude" in body:
            try:
                lat, lon = float(body["latitude"]), float(body["longitude"])
            except (KeyError, TypeError, ValueError):
                raise web.HTTPBadRequest(text="latitude and longitude expected") from None
            for person in people:
                person.share_location(lat, lon, horizontal_accuracy=10.0)
        else:
            text = str(body.get("text") or "")
            if not text:
                raise web.HTTPBadRequest(text="text or latitude/longitude expected")
            for person in people:
                person.send_text(text)
        return web.json_response({"sent": len(people)})

    async def stats(self, request: web.Request) -> web.Response:
        """A bot's counters for benchmarks; DELETE resets them."""
        account = self._bot(request.query.get("bot"))
        body = {
            "messages_sent": account.messages_sent,
            "reply_latencies": list(account.reply_latencies),
        }
        if request.method == "DELETE":
            account.messages_sent = 0
            account.reply_latencies.clear()
        return web.json_response(body)

    async def contact(self, request: web.Request) -> web.Response:
        """The person shares their contact."""
        body = await self._body(request)
        message = self._person(body).share_contact()
        return web.json_response({"message_id": message.message_id})

    async def photo(self, request: web.Request) -> web.Response:
        """The person uploads a photo (multipart: user_id, bot, photo, caption)."""
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        person = self._person(fields)
        upload = form.get("photo")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text="photo expected")
        data = upload.file.read()
        message = person.send_photo(data, caption=fields.get("caption") or None)
        return web.json_response({"message_id": message.message_id})

    async def web_app(self, request: web.Request) -> web.Response:
        """Signed Mini App URL for a person (as a web_app button would open it)."""
        body = await self._body(request)
        person = self._person(body)
        return web.json_response({"url": person.web_app_url(str(body.get("url", "")))})

    async def block(self, request: web.Request) -> web.Response:
        """The person blocks (or with unblock=true unblocks) the bot."""
        body = await self._body(request)
        person = self._person(body)
        if body.get("unblock"):
            person.unblock_bot()
        else:
            person.block_bot()
        return web.json_response({"ok": True})

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A stored file by file_id: shown in the chat (photos), or with `?download=1` saved
        under its name (documents).
        """
        stored = self.sandbox.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        headers = {}
        if request.query.get("download"):
            name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return web.Response(
            body=stored.data,
            content_type=stored.mime_type or _image_type(stored.data),
            headers=headers,
        )

    # control (benchmarks in another process, CLI)

    async def add_bot(self, request: web.Request) -> web.Response:
        """Register a bot: {token?, username?, first_name?}."""
        body = await self._body(request)
        account = self.sandbox.add_bot(
            body.get("token"),
            body.get("username", "outpost_sandbox_bot"),
            body.get("first_name", "Outpost"),
        )
        return web.json_response(
            {"token": account.token, "id": account.user_id, "username": account.username}
        )

    async def add_person(self, request: web.Request) -> web.Response:
        """Create a person: {user_id, first_name, language_code?, username?, phone_number?}."""
        body = await self._body(request)
        try:
            person = self.sandbox.add_person(
                int(body["user_id"]),
                str(body["first_name"]),
                body.get("language_code", "en"),
                username=body.get("username"),
                phone_number=body.get("phone_number"),
                last_name=body.get("last_name"),
            )
        except (KeyError, ValueError):
            raise web.HTTPBadRequest(text="user_id and first_name expected") from None
        return web.json_response({"id": person.id})

    async def violations(self, request: web.Request) -> web.Response:
        """Rejections recorded in strict mode; DELETE clears them."""
        found = [vars(v) for v in self.sandbox.violations]
        if request.method == "DELETE":
            self.sandbox.violations.clear()
        return web.json_response(found)

    async def limits(self, request: web.Request) -> web.Response:
        """Read or change the flood limits (POST a partial object)."""
        limits = self.sandbox.limits
        if request.method == "POST":
            body = await self._body(request)
            for key, value in body.items():
                if hasattr(limits, key):
                    setattr(limits, key, type(getattr(limits, key))(value))
            self.sandbox.limiter.reset()
        return web.json_response(vars(limits))

    async def faults(self, request: web.Request) -> web.Response:
        """Add a fault rule (POST {kind, rate, methods, times, status, delay}); DELETE clears."""
        if request.method == "DELETE":
            self.sandbox.faults.clear()
            return web.json_response({"ok": True})
        body = await self._body(request)
        try:
            self.sandbox.faults.add(
                FaultKind(body["kind"]),
                rate=float(body.get("rate", 1.0)),
                methods=body.get("methods"),
                times=body.get("times"),
                status=int(body.get("status", 502)),
                delay=float(body.get("delay", 0.0)),
            )
        except (KeyError, ValueError):
            raise web.HTTPBadRequest(text="kind expected") from None
        if "seed" in body:
            self.sandbox.faults.reseed(int(body["seed"]))
        return web.json_response({"ok": True})


@dataclass(frozen=True)
class _NumberField:
    """A number of the location form, with Telegram's range for it (Location in the Bot API)."""

    key: str
    label: str
    low: float
    high: float
    unit: str
    example: str
    required: bool = True


_LOCATION_FIELDS = (
    _NumberField("latitude", "Latitude", -90, 90, "degrees", "6.4281"),
    _NumberField("longitude", "Longitude", -180, 180, "degrees", "3.4219"),
    _NumberField("horizontal_accuracy", "Accuracy", 0, 1500, "metres", "20", required=False),
)


def read_location(body: dict[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """The location form's numbers, and a reason for each field that is not a usable one."""
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for field in _LOCATION_FIELDS:
        raw = body.get(field.key)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if field.required:
                errors[field.key] = (
                    f"{field.label} is empty: enter a number of {field.unit}, "
                    f"e.g. {field.example}."
                )
            continue
        try:
            # A decimal comma is what many phones' number pads type.
            number = float(text.replace(",", "."))
        except ValueError:
            errors[field.key] = (
                f"{field.label} must be a number of {field.unit}, e.g. {field.example} "
                f"(not {text[:20]!r})."
            )
            continue
        if not math.isfinite(number) or not field.low <= number <= field.high:
            errors[field.key] = (
                f"{field.label} must be between {field.low:g} and {field.high:g} {field.unit} "
                f"(not {text[:20]})."
            )
            continue
        values[field.key] = number
    return values, errors


def _image_type(data: bytes) -> str:
    """Guess an image content type from its first bytes."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "application/octet-stream"


def add_chat_routes(app: web.Application, server: SandboxServer) -> None:
    """Mount the browser chat and the JSON API."""
    from bot.sandbox.server import STATIC_DIR

    api = ChatApi(server)
    app.router.add_get("/", api.index)
    app.router.add_get("/chat", api.chat_page)
    app.router.add_static("/static/", STATIC_DIR)
    app.router.add_get("/sandbox/api/state", api.state)
    app.router.add_get("/sandbox/api/chat", api.chat)
    app.router.add_post("/sandbox/api/send", api.send)
    app.router.add_post("/sandbox/api/press", api.press)
    app.router.add_post("/sandbox/api/location", api.location)
    app.router.add_post("/sandbox/api/contact", api.contact)
    app.router.add_post("/sandbox/api/burst", api.burst)
    app.router.add_route("GET", "/sandbox/api/stats", api.stats)
    app.router.add_route("DELETE", "/sandbox/api/stats", api.stats)
    app.router.add_post("/sandbox/api/photo", api.photo)
    app.router.add_post("/sandbox/api/web_app", api.web_app)
    app.router.add_post("/sandbox/api/block", api.block)
    app.router.add_get("/sandbox/api/files/{file_id}", api.file)
    app.router.add_post("/sandbox/api/bots", api.add_bot)
    app.router.add_post("/sandbox/api/people", api.add_person)
    app.router.add_route("GET", "/sandbox/api/violations", api.violations)
    app.router.add_route("DELETE", "/sandbox/api/violations", api.violations)
    app.router.add_route("GET", "/sandbox/api/limits", api.limits)
    app.router.add_route("POST", "/sandbox/api/limits", api.limits)
    app.router.add_route("POST", "/sandbox/api/faults", api.faults)
    app.router.add_route("DELETE", "/sandbox/api/faults", api.faults)
